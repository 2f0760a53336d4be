# The Shudi app image: API and map pages; migrations and the sample district via `shudi`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --system --home /app --shell /usr/sbin/nologin shudi
COPY pyproject.toml README.md ./
COPY shudi ./shudi
COPY gis ./gis
COPY jurisdictions ./jurisdictions
COPY accounts ./accounts
COPY abuse ./abuse
COPY incidents ./incidents
COPY audit ./audit
COPY documents ./documents
COPY meetings ./meetings
COPY assessment ./assessment
COPY hotspots ./hotspots
COPY notify ./notify
COPY places ./places
COPY ogc ./ogc
COPY api ./api
COPY webmap ./webmap
COPY console ./console
COPY data ./data
# Map assets (Leaflet, plugins, fonts) come from the npm registry at build time, checked
# against webmap/assets.json; pages then need no internet. The CJK font is embedded in PDFs.
RUN apt-get update && apt-get install -y --no-install-recommends npm fonts-wqy-zenhei \
    && pip install --no-cache-dir -e . && python -m webmap.assets fetch \
    && apt-get purge -y npm && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
    && chown -R shudi /app && mkdir -p /var/lib/shudi && chown shudi /var/lib/shudi
USER shudi
EXPOSE 8000
# The reverse proxy in front of the app (its address on the Docker network); X-Forwarded-For
# from any other peer is ignored. Set it to your proxy's address (or '' when there is none).
ENV SHUDI_FORWARDED_ALLOW_IPS=172.16.0.0/12
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["shudi", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]

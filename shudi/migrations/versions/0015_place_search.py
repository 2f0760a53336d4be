"""Place search: a ``place`` table of names with their pinyin, and gazetteer datasets.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:40:00

``place`` holds every name a person may search for: the active boundaries' estates,
communities and towns (``generation_id`` set; re-synced when another generation becomes active)
and the gazetteer's roads, addresses and POIs (``dataset`` set, imported by ``shudi places
import``). ``pinyin`` is the toneless full pinyin run together (天鹅雅苑 → ``tianeyayuan``),
``initials`` its first letters (``teyy``) and ``syllables`` the syllables separated by spaces
(``tian e ya yuan``), which the mixed and gapped pinyin matches search with a regular
expression. Measured on the sample district (3,400 names, docs/benchmarks.md): a trigram GIN
index on the name serves substrings (``LIKE '%天鹅雅苑%'``: 0.03 ms instead of a 1.3 ms scan);
``text_pattern_ops`` B-trees on the pinyin and initials serve prefixes. A trigram index on the
syllables was tried and left out: the pinyin patterns give it almost no trigrams to use, and
planning the regular expression against it cost 3 ms a query (0.2 ms without it).
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("""
        CREATE TABLE place_dataset (
            name text PRIMARY KEY,
            source text NOT NULL DEFAULT '',
            feature_count integer NOT NULL DEFAULT 0,
            imported_at timestamptz NOT NULL DEFAULT now()
        )""")
    op.execute("""
        CREATE TABLE place (
            id bigserial CONSTRAINT pk_place PRIMARY KEY,
            kind varchar(16) NOT NULL CONSTRAINT ck_place_kind
                CHECK (kind IN ('estate', 'community', 'town', 'road', 'address', 'poi')),
            code varchar(64) NOT NULL,
            name text NOT NULL CONSTRAINT ck_place_name CHECK (name <> ''),
            pinyin text NOT NULL DEFAULT '',
            initials text NOT NULL DEFAULT '',
            syllables text NOT NULL DEFAULT '',
            context text NOT NULL DEFAULT '',
            generation_id integer CONSTRAINT fk_place_generation_id_boundary_generation
                REFERENCES boundary_generation (id) ON DELETE CASCADE,
            dataset text CONSTRAINT fk_place_dataset_place_dataset
                REFERENCES place_dataset (name) ON DELETE CASCADE,
            attrs jsonb NOT NULL DEFAULT '{}',
            geom geometry(Geometry, 4326) NOT NULL,
            point geometry(Point, 4326) NOT NULL,
            west double precision NOT NULL,
            south double precision NOT NULL,
            east double precision NOT NULL,
            north double precision NOT NULL,
            CONSTRAINT ck_place_one_source CHECK ((generation_id IS NULL) <> (dataset IS NULL))
        )""")
    op.execute(
        "CREATE UNIQUE INDEX uq_place_generation_code ON place (generation_id, code) "
        "WHERE generation_id IS NOT NULL"
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_place_dataset_kind_code ON place (dataset, kind, code) "
        "WHERE dataset IS NOT NULL"
    )
    op.execute("CREATE INDEX ix_place_name_trgm ON place USING gin (name gin_trgm_ops)")
    op.execute("CREATE INDEX ix_place_pinyin ON place (pinyin text_pattern_ops)")
    op.execute("CREATE INDEX ix_place_initials ON place (initials text_pattern_ops)")
    op.execute("CREATE INDEX ix_place_geom ON place USING gist (geom)")
    op.execute("CREATE INDEX ix_place_kind ON place (kind)")


def downgrade() -> None:
    op.execute("DROP TABLE place")
    op.execute("DROP TABLE place_dataset")

#!/bin/sh
# The compose `backup` service: creates the stanza, takes a full backup when there is none,
# then every day at BACKUP_AT (UTC, HH:MM) a full backup on BACKUP_FULL_DAY (1 = Monday ...
# 7 = Sunday) and a differential on the other days. pgBackRest expires what retention drops.
set -eu
: "${BACKUP_AT:=02:00}"
: "${BACKUP_FULL_DAY:=7}"
until pg_isready -q -h /var/run/postgresql; do sleep 2; done
pgbackrest --stanza=shudi stanza-create
pgbackrest --stanza=shudi check
if ! pgbackrest --stanza=shudi info --output=json | grep -q '"type":"full"'; then
  pgbackrest --stanza=shudi backup --type=full
fi
while true; do
  now=$(date -u +%s)
  next=$(date -u -d "today $BACKUP_AT" +%s)
  if [ "$next" -le "$now" ]; then next=$(date -u -d "tomorrow $BACKUP_AT" +%s); fi
  sleep $((next - now))
  if [ "$(date -u +%u)" = "$BACKUP_FULL_DAY" ]; then kind=full; else kind=diff; fi
  pgbackrest --stanza=shudi backup --type="$kind" || echo "shudi-backup: $kind backup failed" >&2
done

#!/usr/bin/env bash
# Backup and restore drill, run by `make backup-drill` and by .ci/run.
#
# On PostgreSQL: build a scratch portal database with the demo data and its evidence files,
# back it up the way production is backed up (pg_dump of the database, a tarball of the
# media folder), restore both into a second scratch database and folder, then prove that
# nothing was lost: every table has the same row count, every sequence the same value, every
# media file the same SHA-256, and verify_decision_log and verify_evidence pass against the
# restored copy. Exits non-zero on any difference. The scratch databases and folders are
# removed however the drill ends.
#
# PGHOST, PGPORT and PGUSER choose the server (default postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
PY="${PY:-.venv/bin/python}"
SRC="thesmios_drill_src_$$"
DST="thesmios_drill_restore_$$"
WORK="$(mktemp -d -t thesmios-drill-XXXXXX)"
START=$SECONDS

fail() { echo "backup drill: FAILED: $*" >&2; exit 1; }
step() { echo "== $*"; }

cleanup() {
  dropdb --if-exists "$SRC" >/dev/null 2>&1 || true
  dropdb --if-exists "$DST" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! pg_isready -q; then
  if [ "$PGHOST" = "127.0.0.1" ] && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
    for _ in $(seq 1 30); do pg_isready -q && break; sleep 1; done
  fi
fi
pg_isready -q || fail "PostgreSQL is not reachable on $PGHOST:$PGPORT"

# The portal as production runs it (DEBUG off), pointed at one scratch database and folder.
portal() {
  local db="$1" media="$2"
  shift 2
  env DEBUG=0 SECRET_KEY="backup-drill-only-$(printf '%064d' 0)" \
    DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$db" MEDIA_ROOT="$media" STATIC_ROOT="$WORK/static" \
    "$PY" manage.py "$@"
}

psql_at() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

# One line per table, "name|rows", exact counts (not the planner's estimates).
row_counts() {
  psql_at "$1" "
    SELECT table_name,
           (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name),
                                                false, true, '')))[1]::text::bigint
    FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
    ORDER BY table_name"
}

sequences() { psql_at "$1" "SELECT sequencename || '|' || coalesce(last_value, 0) FROM pg_sequences ORDER BY 1"; }

media_sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }

step "source: $SRC, migrated and seeded with the demo data"
createdb "$SRC"
mkdir -p "$WORK/media-source" "$WORK/media-restored"
# As a deployment does before it serves: with DEBUG off every page names its static files
# through the collected manifest (seed_demo's in-process operator proof renders pages).
portal "$SRC" "$WORK/media-source" collectstatic --noinput -v 0
portal "$SRC" "$WORK/media-source" migrate --noinput -v 0
portal "$SRC" "$WORK/media-source" seed_demo --force >/dev/null

step "backup: pg_dump and a tarball of the media folder"
pg_dump --format=custom --no-owner --no-privileges --file="$WORK/portal.dump" "$SRC"
tar -C "$WORK/media-source" -czf "$WORK/media.tar.gz" .
ls -l "$WORK/portal.dump" "$WORK/media.tar.gz" | awk '{print "   " $5 " bytes  " $NF}'

step "restore: into $DST and a fresh folder"
createdb "$DST"
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$DST" "$WORK/portal.dump"
tar -C "$WORK/media-restored" -xzf "$WORK/media.tar.gz"

step "check: row counts of every table"
row_counts "$SRC" >"$WORK/rows-source"
row_counts "$DST" >"$WORK/rows-restored"
tables=$(wc -l <"$WORK/rows-source")
[ "$tables" -gt 0 ] || fail "the source database has no tables"
diff -u "$WORK/rows-source" "$WORK/rows-restored" || fail "row counts differ between the source and the restored copy"
# An empty restore of an empty source would match too: the data that matters must be there.
for table in launchroom_tenant launchroom_gatedecision launchroom_acceptancerecord launchroom_stagechange \
  launchroom_decisionlogentry evidence_evidenceattachment auth_user; do
  rows=$(grep "^$table|" "$WORK/rows-restored" | cut -d'|' -f2)
  [ "${rows:-0}" -gt 0 ] || fail "$table is empty in the restored copy"
done
echo "   $tables tables, $(awk -F'|' '{n += $2} END {print n}' "$WORK/rows-restored") rows, all equal"

step "check: sequences (new rows must not collide with restored ones)"
sequences "$SRC" >"$WORK/seq-source"
sequences "$DST" >"$WORK/seq-restored"
diff -u "$WORK/seq-source" "$WORK/seq-restored" || fail "sequence values differ"
echo "   $(wc -l <"$WORK/seq-restored") sequences, all equal"

step "check: media files"
media_sums "$WORK/media-source" >"$WORK/media-source.sha256"
media_sums "$WORK/media-restored" >"$WORK/media-restored.sha256"
files=$(wc -l <"$WORK/media-restored.sha256")
[ "$files" -gt 0 ] || fail "no evidence files in the media folder"
diff -u "$WORK/media-source.sha256" "$WORK/media-restored.sha256" || fail "media files differ"
echo "   $files files, every SHA-256 equal"

step "check: verify_decision_log against the restored copy"
portal "$DST" "$WORK/media-restored" verify_decision_log || fail "verify_decision_log failed on the restored copy"

step "check: verify_evidence against the restored copy"
portal "$DST" "$WORK/media-restored" verify_evidence || fail "verify_evidence failed on the restored copy"

echo "backup drill: OK ($((SECONDS - START)) s): nothing lost"

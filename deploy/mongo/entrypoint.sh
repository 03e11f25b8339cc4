#!/usr/bin/env bash
# Entrypoint wrapper for the mongo:7.0 image (docker-compose.yml, service `mongo`).
#
# A replica set with authentication needs a keyfile (members authenticate to each other
# with it; mongod refuses --replSet with auth and no keyfile). On first start this writes a
# random one into the config volume, readable only by the mongodb user (mode 400, as mongod
# requires), then hands over to the image's own docker-entrypoint.sh, which creates the root
# user, runs /docker-entrypoint-initdb.d/* once and execs mongod as mongodb.
set -euo pipefail

KEYFILE="${MONGO_KEYFILE:-/data/configdb/replica-set.key}"

if [[ ! -s "$KEYFILE" ]]; then
  echo "crm-mongo: generating replica-set keyfile $KEYFILE" >&2
  umask 077
  # 756 random bytes -> 1008 base64 characters (mongod accepts 6..1024).
  head -c 756 /dev/urandom | base64 -w 0 > "$KEYFILE.tmp"
  mv "$KEYFILE.tmp" "$KEYFILE"
fi
chown mongodb:mongodb "$KEYFILE"
chmod 400 "$KEYFILE"

exec /usr/local/bin/docker-entrypoint.sh "$@"

#!/usr/bin/env bash
# Healthcheck of the `mongo` service (docker-compose.yml).
#
# Healthy = this node is the writable primary of replica set rs0. On the first run after the
# data volume was initialised the set does not exist yet: initiate it with this single
# member (MONGO_REPLICA_SET_HOST, the name the services use: mongo:27017). Idempotent;
# fails (unhealthy) while the image's one-off initialisation server runs or no primary is
# elected yet. Authenticates as the root user from MONGO_INITDB_ROOT_USERNAME/PASSWORD.
set -euo pipefail

exec mongosh --quiet --norc \
  --host 127.0.0.1 --port 27017 \
  --username "$MONGO_INITDB_ROOT_USERNAME" \
  --password "$MONGO_INITDB_ROOT_PASSWORD" \
  --authenticationDatabase admin \
  --eval '
    const host = process.env.MONGO_REPLICA_SET_HOST || "mongo:27017";
    try {
      rs.status();
    } catch (e) {
      if (e.codeName !== "NotYetInitialized") { throw e; }
      print("initiating replica set rs0 with " + host);
      rs.initiate({ _id: "rs0", members: [{ _id: 0, host: host }] });
    }
    if (!db.hello().isWritablePrimary) { quit(1); }
  '

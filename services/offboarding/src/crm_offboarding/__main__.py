"""``python -m crm_offboarding`` / ``crm-offboarding``: HTTP and Kafka consumer in one process."""

from crm_offboarding.app import create_app
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.serve import serve


def main() -> None:
    serve(create_app, OffboardingSettings())


if __name__ == "__main__":
    main()

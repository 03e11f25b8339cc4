"""``python -m crm_insights`` / ``crm-insights``: serve HTTP and consume Kafka in one process."""

from crm_insights.app import create_app
from crm_insights.settings import InsightsSettings
from crm_runtime.serve import serve


def main() -> None:
    serve(create_app, InsightsSettings())


if __name__ == "__main__":
    main()

"""``python -m crm_feedback`` / ``crm-feedback``: serve HTTP and consume Kafka in one process."""

from crm_feedback.app import create_app
from crm_feedback.settings import FeedbackSettings
from crm_runtime.serve import serve


def main() -> None:
    serve(create_app, FeedbackSettings())


if __name__ == "__main__":
    main()

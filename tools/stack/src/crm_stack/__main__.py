"""`python -m crm_stack` == `crm-stack`."""

from crm_stack.cli import app

if __name__ == "__main__":
    app(prog_name="crm-stack")

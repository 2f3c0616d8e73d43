"""Run every benchmark in ``bench/`` and print its figures: ``python -m bench``."""

from bench import crypto_costs, queue_pages, upload_memory


def main() -> None:
    crypto_costs.main()
    upload_memory.main()
    queue_pages.main()


if __name__ == "__main__":
    main()

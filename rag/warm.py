"""Build the assistant's index early, as a warm-up of ``diamond run``.

Run as ``python -m rag.warm`` beside ``dbt build``: the parsed manifest and
the project's documents are there already, so nearly every chunk can be
embedded while dbt works. The index step later rebuilds from the corpus as
it then is, embedding only the chunks that changed meanwhile (the model
cards the build writes). One thread, to leave the other core to dbt.
"""

from __future__ import annotations


def main() -> int:
    import torch

    from rag.index import build_index

    torch.set_num_threads(1)
    build_index()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A local Sphinx extension: the book's repository, as configured, in the pages' text.

The introduction tells a reader how to get the code: clone the repository, or
``pip install`` the ``companion`` package from it. The URL is the one ``_config.yml``
gives under ``repository.url`` (Jupyter Book passes it to the theme as
``repository_url``); this extension hands it to MyST as substitutions, so that the page
and the launch buttons never disagree:

* ``{{ repository_url }}``: the URL, or a visible placeholder when none is configured;
* ``{{ get_the_code }}``: a block with the ``git clone`` and ``pip install`` commands.

A page uses them like any MyST substitution (the ``substitution`` extension must be on).
"""

PLACEHOLDER = "https://github.com/OWNER/REPOSITORY"


def commands(url: str) -> str:
    """The Markdown block of commands that fetch the book's code from ``url``."""
    return (
        "```bash\n"
        f"git clone {url} rnn-book && cd rnn-book\n"
        "make lab      # JupyterLab on book/, with everything installed in .venv\n"
        "```\n\n"
        "or, to run a downloaded notebook in an environment of your own:\n\n"
        "```bash\n"
        f'pip install "companion @ git+{url}"\n'
        "```\n"
    )


def add_substitutions(app, config):
    url = (config.html_theme_options or {}).get("repository_url") or PLACEHOLDER
    url = url.rstrip("/")
    config.myst_substitutions = {
        **(config.myst_substitutions or {}),
        "repository_url": url if url != PLACEHOLDER else f"`{PLACEHOLDER}`",
        "get_the_code": commands(url),
    }


def setup(app):
    app.connect("config-inited", add_substitutions, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

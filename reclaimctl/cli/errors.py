"""User mistakes become one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys

import click

EXIT_USAGE = 2
EXIT_INPUT = 1


class UserError(click.ClickException):
    """A mistake of the user's (bad path, bad option value, bad input): printed as one line."""

    exit_code = EXIT_INPUT

    def show(self, file=None) -> None:  # type: ignore[no-untyped-def]
        click.echo(f"reclaimctl: error: {self.format_message()}", err=True)


def run(cli: click.Group) -> None:
    try:
        cli.main(standalone_mode=False, prog_name="reclaimctl")
    except click.exceptions.Abort:
        click.echo("reclaimctl: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:  # one line, with where to look
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        click.echo(f"reclaimctl: error: {exc.format_message()}{where}".replace("\n", " "), err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("reclaimctl: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)

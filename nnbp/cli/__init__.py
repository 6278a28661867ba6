"""The ``nnbp`` command line: parse the options, call the library, print.

Results go to stdout, progress and messages to stderr. An error from the library
(``NnbpError``) becomes one ``Error: ...`` line on stderr and the exit code its class
carries (``nnbp.errors.ExitCode``); ``--traceback`` shows the full traceback instead, for
bug reports. Each command imports the library inside its body, so that ``nnbp --help``
and ``--version`` start without loading NumPy. This package is the only part of nnbp
that knows about click.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from click.exceptions import NoArgsIsHelpError

from nnbp import __version__
from nnbp.cli.config import config_group
from nnbp.cli.data import data_group
from nnbp.cli.evaluate import evaluate
from nnbp.cli.export import export
from nnbp.cli.inspection import gradcheck, inspect, plot
from nnbp.cli.predict import predict
from nnbp.cli.runs import runs_group
from nnbp.cli.serve import serve
from nnbp.cli.sweep import sweep_group
from nnbp.cli.train import train
from nnbp.errors import ExitCode, NnbpError

__all__ = ["cli", "main"]

EXIT_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.ERROR: "bad data or files; predict: an image could not be read; gradcheck: failed",
    ExitCode.USAGE: "a usage or config mistake",
    ExitCode.INTERRUPTED: "Ctrl-C (nnbp train --resume RUN_DIR continues the run)",
    ExitCode.PIPE_CLOSED: "the reader of stdout stopped reading (e.g. | head): a normal end",
    ExitCode.TERMINATED: "SIGTERM (the run is resumable as after Ctrl-C)",
}


def exit_codes_help() -> str:
    """Every ExitCode with its meaning, one per line: the end of ``nnbp --help``."""
    lines = [
        f"  {code.value:>3}  {EXIT_MEANINGS.get(code, code.name.lower())}" for code in ExitCode
    ]
    return "\b\nExit codes:\n" + "\n".join(lines)  # \b: click keeps the lines as they are


class NnbpGroup(click.Group):
    """A click group that turns every error into one ``Error:`` line and an exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # Click's own usage errors print a usage block first; nnbp's promise is one line.
        kwargs["standalone_mode"] = False
        argv = kwargs.get("args", args[0] if args else None)
        from nnbp import provenance  # run.json records the command as it was typed

        provenance.invocation = ["nnbp", *(sys.argv[1:] if argv is None else argv)]
        try:
            code = super().main(*args, **kwargs)
        except NoArgsIsHelpError as e:  # bare `nnbp`, `nnbp config`: their help, plainly
            click.echo(e.ctx.get_help())
            sys.exit(ExitCode.OK)
        except click.UsageError as e:
            hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
            click.echo(f"Error: {e.format_message().rstrip('.')}{hint}", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            click.echo(f"Error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Error: aborted", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        sys.exit(code if isinstance(code, int) else ExitCode.OK)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NnbpError as e:
            if ctx.params.get("traceback"):
                raise
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)
        except KeyboardInterrupt:
            if ctx.params.get("traceback"):
                raise
            click.echo("Error: interrupted", err=True)
            ctx.exit(ExitCode.INTERRUPTED)
        except BrokenPipeError:
            # The reader closed the pipe: stop quietly. Later writes (the interpreter's
            # final flush among them) go to /dev/null instead of failing again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(ExitCode.PIPE_CLOSED)


@click.group(
    cls=NnbpGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=exit_codes_help(),
)
@click.version_option(__version__, "--version", prog_name="nnbp")
@click.option("--traceback", is_flag=True, help="Show the full traceback of an error.")
def cli(traceback: bool) -> None:
    """Train fully-connected sigmoid networks with matrix-based backpropagation.

    \b
    nnbp data fetch mnist          download (or copy from $NNBP_DATA_MIRROR) MNIST
    nnbp train configs/mnist.yaml  train the book's chapter-1 network into runs/mnist
    nnbp evaluate                  score the newest run on its test set
    nnbp predict digit.png         classify an image with the newest run
    nnbp config keys               every config key, its default and meaning
    """


for command in (
    train,
    evaluate,
    predict,
    gradcheck,
    inspect,
    plot,
    serve,
    sweep_group,
    runs_group,
    export,
    data_group,
    config_group,
):
    cli.add_command(command)


@cli.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for nnbp (commands, options, file names).

    \b
    bash: eval "$(nnbp completion bash)"     (in ~/.bashrc)
    zsh:  eval "$(nnbp completion zsh)"      (in ~/.zshrc)
    fish: nnbp completion fish > ~/.config/fish/completions/nnbp.fish
    """
    from click.shell_completion import get_completion_class

    script = get_completion_class(shell)(cli, {}, "nnbp", "_NNBP_COMPLETE")  # type: ignore[misc]
    click.echo(script.source())


def main() -> None:
    """The ``nnbp`` console script."""
    cli(prog_name="nnbp")

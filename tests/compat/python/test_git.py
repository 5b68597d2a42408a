"""The SDK's git helpers (sandbox.git, in both pinned Python versions): init, add, commit,
status, branches, config, clone from a local path. They are shell strings run through
commands.run (`git ...` with GIT_TERMINAL_PROMPT=0), so they exercise the process API plus the
template's git. Behaviour: shared/spec/envd-api.md §2.5."""

import pytest
from e2b import CommandExitException

from compat_helpers import HOME

AUTHOR = {"author_name": "Sbx Test", "author_email": "sbx@example.com"}


def make_repo(sandbox, path):
    sandbox.git.init(path, initial_branch="main")
    sandbox.files.write(f"{path}/a.txt", "a\n")
    sandbox.git.add(path)
    sandbox.git.commit(path, "initial", **AUTHOR)


def test_git_init_add_commit_status(sandbox):
    repo = f"{HOME}/repo"
    sandbox.git.init(repo, initial_branch="main")
    status = sandbox.git.status(repo)
    assert status.current_branch == "main"
    assert status.is_clean and status.file_status == []
    assert status.detached is False

    sandbox.files.write(f"{repo}/a.txt", "a\n")
    sandbox.files.write(f"{repo}/b.txt", "b\n")
    status = sandbox.git.status(repo)
    assert sorted((f.name, f.status) for f in status.file_status) == [
        ("a.txt", "untracked"), ("b.txt", "untracked")
    ]
    assert status.untracked_count == 2 and status.has_untracked

    sandbox.git.add(repo, files=["a.txt"])
    status = sandbox.git.status(repo)
    files = {f.name: f for f in status.file_status}
    assert (files["a.txt"].status, files["a.txt"].staged) == ("added", True)
    assert files["b.txt"].status == "untracked"
    assert status.staged_count == 1

    sandbox.git.add(repo)
    assert sandbox.git.status(repo).staged_count == 2
    sandbox.git.commit(repo, "first commit", **AUTHOR)
    status = sandbox.git.status(repo)
    assert status.is_clean, status.file_status
    log = sandbox.commands.run(f"git -C {repo} log --format=%an/%ae/%s").stdout
    assert log == "Sbx Test/sbx@example.com/first commit\n"

    sandbox.files.write(f"{repo}/a.txt", "changed\n")
    status = sandbox.git.status(repo)
    assert [(f.name, f.status, f.staged) for f in status.file_status] == [
        ("a.txt", "modified", False)
    ]

    branches = sandbox.git.branches(repo)
    assert (branches.branches, branches.current_branch) == (["main"], "main")
    sandbox.git.create_branch(repo, "feature")
    branches = sandbox.git.branches(repo)
    assert (sorted(branches.branches), branches.current_branch) == (["feature", "main"], "feature")
    sandbox.git.checkout_branch(repo, "main")
    assert sandbox.git.branches(repo).current_branch == "main"
    sandbox.git.delete_branch(repo, "feature")
    assert sandbox.git.branches(repo).branches == ["main"]

    sandbox.git.set_config("user.name", "Global Name")
    assert sandbox.git.get_config("user.name") == "Global Name"
    assert sandbox.git.get_config("sbx.unset-key") is None
    sandbox.git.set_config("core.autocrlf", "input", scope="local", path=repo)
    assert sandbox.git.get_config("core.autocrlf", scope="local", path=repo) == "input"


def test_git_clone_local(sandbox):
    src = f"{HOME}/src"
    make_repo(sandbox, src)
    sandbox.git.create_branch(src, "dev")
    sandbox.files.write(f"{src}/dev.txt", "dev\n")
    sandbox.git.add(src)
    sandbox.git.commit(src, "on dev", **AUTHOR)
    sandbox.git.checkout_branch(src, "main")

    dst = f"{HOME}/dst"
    sandbox.git.clone(src, path=dst)
    assert sandbox.files.read(f"{dst}/a.txt") == "a\n"
    status = sandbox.git.status(dst)
    assert (status.current_branch, status.upstream) == ("main", "origin/main")
    assert (status.ahead, status.behind) == (0, 0)
    assert sandbox.git.remote_get(dst, "origin") == src
    assert sandbox.git.remote_get(dst, "nope") is None

    only_dev = f"{HOME}/only-dev"
    sandbox.git.clone(src, path=only_dev, branch="dev")
    branches = sandbox.git.branches(only_dev)
    assert (branches.branches, branches.current_branch) == (["dev"], "dev")
    assert sandbox.files.read(f"{only_dev}/dev.txt") == "dev\n"

    # A local commit puts the clone ahead of its upstream.
    sandbox.files.write(f"{dst}/c.txt", "c\n")
    sandbox.git.add(dst)
    sandbox.git.commit(dst, "local", **AUTHOR)
    assert sandbox.git.status(dst).ahead == 1

    sandbox.git.remote_add(dst, "mirror", src)
    assert sandbox.git.remote_get(dst, "mirror") == src


def test_git_errors(sandbox):
    sandbox.files.make_dir("not-a-repo")
    with pytest.raises(CommandExitException) as info:
        sandbox.git.status(f"{HOME}/not-a-repo")
    assert info.value.exit_code == 128
    assert "not a git repository" in info.value.stderr.lower()
    with pytest.raises(CommandExitException):
        sandbox.git.clone(f"{HOME}/no-such-source", path=f"{HOME}/x")

"""TAP lines for the Python blocks embedded in the shell tests."""


def ok(name, cond, msg=""):
    print(("ok - " if cond else "not ok - ") + name + ("  # " if cond and msg else ": " if not cond else "") + msg,
          flush=True)

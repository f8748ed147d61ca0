"""Untrusted programs shared by the sandbox and grading tests."""


def daemon_program(token: str, then: str = "") -> str:
    """Double fork + setsid; the grandchild becomes `sleep <token>`; the program waits until it
    has, prints "daemon up", then runs `then`."""
    return (
        "import os, time\nr, w = os.pipe()\n"
        "if os.fork() == 0:\n    os.setsid()\n    pid = os.fork()\n    if pid == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', '{token}'])\n"
        "    os.write(w, str(pid).encode())\n    os._exit(0)\n"
        "pid = int(os.read(r, 64))\nfor _ in range(1000):\n    try:\n"
        f"        if b'{token}' in open(f'/proc/{{pid}}/cmdline', 'rb').read():\n"
        "            print('daemon up')\n            break\n"
        "    except OSError:\n        pass\n    time.sleep(0.005)\n" + then
    )

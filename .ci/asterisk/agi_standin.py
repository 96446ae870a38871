#!/usr/bin/env python3
"""A stand-in for the service's FastAGI server, for .ci/real-calls.sh while `ivr serve` has
none: it keeps the service's side of the contract with deploy/asterisk/extensions.conf, and
nothing else. It answers, plays the language menu from local files with every key as an
escape digit, writes IVR_STATE after every turn, resumes from the state passed as the first
AGI argument, dials the police on 9, rings the operator on 0 with a whisper (Dial's U() into the
shipped ivr-111-whisper), and hangs up at the end. Not the service: no flow, no
statistics; only the dialplan's failover and the PBX are under test with it.

agi_standin.py PORT PROMPTS_DIR    (listens on 127.0.0.1:PORT, one thread per call)
"""
import socket
import sys
import threading

MENUS = {"language": "kk/choose_language", "main": "kk/main_menu"}


def serve(conn, prompts, port):
    f = conn.makefile("rwb", buffering=0)

    def send(line):
        f.write(line.encode() + b"\n")
        reply = f.readline().decode().strip()
        if not reply.startswith("200"):
            raise ConnectionError(f"{line!r} -> {reply!r}")
        return reply.split("result=", 1)[1].split(" ", 1)[0]

    env = {}
    while True:
        line = f.readline().decode().rstrip("\n")
        if not line:
            break
        key, _, value = line.partition(": ")
        env[key] = value
    state = env.get("agi_arg_1", "")
    node = state[2:] if state.startswith("n=") and state[2:] in MENUS else "language"
    print(f"standin:{port} call resumed={bool(state)} node={node}", flush=True)
    try:
        if not state:
            send("ANSWER")
        while True:
            send(f'SET VARIABLE IVR_STATE "n={node}"')
            digit = int(send(f'STREAM FILE {prompts}/{MENUS[node]} "0123456789*#"'))
            if digit == 0:
                digit = int(send("WAIT FOR DIGIT 5000"))
            key = chr(digit) if digit > 0 else ""
            if key == "9":
                send("EXEC Dial PJSIP/police,30")
                send("HANGUP")
                return
            if key == "0":
                send(f"EXEC Dial PJSIP/operator,30,gU(ivr-111-whisper^{prompts}/kk/whisper_language_none)")
                send("HANGUP")
                return
            if key == "1":
                node = "main"
            elif key != "*":
                node = "language"
    except (ConnectionError, OSError, ValueError) as e:
        print(f"standin:{port} call ended: {e}", flush=True)
    finally:
        conn.close()


def main():
    port, prompts = int(sys.argv[1]), sys.argv[2]
    listener = socket.create_server(("127.0.0.1", port))
    print(f"standin listening on 127.0.0.1:{port}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, prompts, port), daemon=True).start()


if __name__ == "__main__":
    main()

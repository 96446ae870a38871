"""9. After the real calls (real_calls.py): what the line's statistics counted, and that no
caller identifier reached the database, the instances' data dirs or their logs.

The identifiers searched for are the ones Asterisk handed the service: the caller phones'
numbers (their SIP users, `agi_callerid`) and the first one's display name (`agi_calleridname`), and, read from
Asterisk's own log, every channel name it used (`agi_channel`, the operators' and the
police's legs too) and the unique id of every call to the line (`agi_uniqueid`, logged by the
rig's extension 111 as `rig-call <uniqueid> <channel>`).
"""
import collections
import json
import os
import re
import subprocess

CHANNEL = re.compile(r"PJSIP/[\w+.-]+?-[0-9a-f]{8}")
RIG_CALL = re.compile(r"rig-call (\S+) (\S+)")


def account(suite, commands, numbers, name):
    suite.instances.stop_all()  # each drains its statistics into the database
    counted(suite, commands[0])
    nothing_identifies(suite, commands, numbers, name)


def counted(suite, command):
    out = subprocess.run([command["argv"][0], "report", "--format", "json"], env=dict(os.environ, **command["env"]),
                         capture_output=True, text=True)
    if out.returncode != 0:
        suite.result("ivr report --format json counts the calls made", False, out.stderr.strip())
        return
    report = json.loads(out.stdout)
    summary = report.get("summary", report)
    want = {
        "calls": len(suite.made),
        "languages": dict(collections.Counter(language for language, _ in suite.made)),
        "outcomes": dict(collections.Counter(outcome for _, outcome in suite.made)),
        "ended": {"completed": len(suite.made)},
    }
    got = {
        "calls": summary["calls"],
        "languages": {k: v for k, v in summary["languages"].items() if v},
        "outcomes": {k: v for k, v in summary["outcomes"].items() if v},
        "ended": {k: v for k, v in summary["ended"].items() if v},
    }
    suite.result("ivr report --format json counts exactly the calls made to the line, by language, outcome and end",
                 got == want, f"report {json.dumps(got, sort_keys=True)}; made {json.dumps(want, sort_keys=True)}")


def nothing_identifies(suite, commands, numbers, name):
    with open(suite.asterisk_log, errors="replace") as f:
        asterisk = f.read()
    channels = sorted(set(CHANNEL.findall(asterisk)))
    unique_ids = sorted({m.group(1) for m in RIG_CALL.finditer(asterisk)})
    needles = [*numbers, name, *[word for word in name.split() if len(word) >= 5], *channels, *unique_ids]
    places = {"the database (pg_dump)": subprocess.run(
        ["pg_dump", "--no-owner", commands[0]["env"]["IVR_DATABASE_URL"]], capture_output=True, check=True).stdout}
    data_files = 0
    for i, command in enumerate(commands):
        for root, _, files in os.walk(command["env"]["IVR_DATA_DIR"]):
            for file in files:
                data_files += 1
                with open(os.path.join(root, file), "rb") as f:
                    places[os.path.join(root, file)] = f.read()
        with open(suite.instances.logs[i], "rb") as f:
            places[suite.instances.logs[i]] = f.read()
    found = [f"{needle} in {place}" for needle in needles for place, data in places.items() if needle.encode() in data]
    # The search means something only if Asterisk really had them: its log names the caller.
    real = all(number in asterisk for number in numbers) and len(unique_ids) >= len(suite.made) and channels
    sizes = ", ".join(f"{os.path.basename(p) if p.startswith('/') else p} {len(d)} B" for p, d in places.items())
    suite.result("no caller number (of either caller phone), name, channel name or unique id in the database, the data dirs or the logs",
                 bool(real and not found),
                 f"{len(needles)} identifiers ({len(channels)} channel names, {len(unique_ids)} unique ids) searched "
                 f"in {sizes} ({data_files} file(s) in the data dirs); found: {found or 'none'}")

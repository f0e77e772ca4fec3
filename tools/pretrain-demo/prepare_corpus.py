#!/usr/bin/env python3
"""Corpus preparation for the demo model: the King James Version from Debian's bible-kjv-text.

Reads the text through the `bible` program (package bible-kjv), drops the book/chapter headings
and verse numbers, joins wrapped lines, and writes one verse per line. Chapters are split into
train and validation sets deterministically (every 25th chapter is validation), so the split needs
no random seed. Licence of the text: the KJV translation (1611) is in the public domain; the
Debian packaging is "unrestricted use" / GPL-2+ for the program (see README.md here).
"""
import argparse
import os
import re
import subprocess
import sys

VERSE = re.compile(r"^\s+(\d+)\s+(.*)$")
HEADING = re.compile(r"^[1-3]?\s?[A-Z][A-Za-z ]+ \d+$")


def read_chapters(text):
    """Yields lists of verses, one list per chapter."""
    chapter, verse = [], None
    for line in text.splitlines():
        if not line.strip():
            continue
        if HEADING.match(line.strip()) and not line.startswith(" "):
            if verse is not None:
                chapter.append(verse)
            if chapter:
                yield chapter
            chapter, verse = [], None
            continue
        m = VERSE.match(line)
        if m:
            if verse is not None:
                chapter.append(verse)
            verse = m.group(2).strip()
        elif verse is not None:
            verse += " " + line.strip()
        else:
            raise ValueError("text before the first verse: %r" % line)
    if verse is not None:
        chapter.append(verse)
    if chapter:
        yield chapter


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="output directory (train.txt, val.txt)")
    ap.add_argument("--val-every", type=int, default=25, help="every N-th chapter is validation")
    args = ap.parse_args()
    text = subprocess.run(["bible", "gen1:1-rev22:21"], check=True, capture_output=True,
                          text=True, env=dict(os.environ, COLUMNS="100000")).stdout
    chapters = list(read_chapters(text))
    os.makedirs(args.out, exist_ok=True)
    counts = {"train": [0, 0], "val": [0, 0]}
    with open(os.path.join(args.out, "train.txt"), "w") as tr, \
         open(os.path.join(args.out, "val.txt"), "w") as va:
        for i, chapter in enumerate(chapters):
            split = "val" if i % args.val_every == args.val_every - 1 else "train"
            f = va if split == "val" else tr
            for verse in chapter:
                verse = re.sub(r"\s+", " ", verse)
                f.write(verse + "\n")
                counts[split][1] += 1
            f.write("\n")  # blank line: chapter boundary
            counts[split][0] += 1
    print("chapters %d (train %d, val %d), verses train %d, val %d" % (
        len(chapters), counts["train"][0], counts["val"][0], counts["train"][1], counts["val"][1]))
    if len(chapters) != 1189:
        sys.exit("expected 1189 chapters in the KJV, got %d" % len(chapters))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The GPL block every Kamailio module file opens with (the wording of
src/modules/htable/*.c), ahead of each uacreg file's own opening comment
(its one concern).

  scripts/gpl-header.py          add the block to every modules/uacreg/*.[ch]
                                 that lacks it (re-runnable: files that have
                                 it are left as they are)
  scripts/gpl-header.py --check  list the files that lack it, exit 1 if any
                                 (part of make format-check)
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = """\
/*
 * Copyright (C) 2026 uacreg authors
 *
 * This file is part of Kamailio, a free SIP server.
 *
 * Kamailio is free software; you can redistribute it and/or modify
 * it under the terms of the GNU General Public License as published by
 * the Free Software Foundation; either version 2 of the License, or
 * (at your option) any later version
 *
 * Kamailio is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE. See the
 * GNU General Public License for more details.
 *
 * You should have received a copy of the GNU General Public License
 * along with this program; if not, write to the Free Software
 * Foundation, Inc., 51 Franklin Street, Fifth Floor, Boston, MA  02110-1301  USA
 */

"""


def files():
    return sorted((ROOT / "modules" / "uacreg").glob("*.[ch]"))


def main():
    check = "--check" in sys.argv[1:]
    lacking = [f for f in files() if not f.read_text().startswith(HEADER)]
    if check:
        for f in lacking:
            print(f"gpl-header: {f.relative_to(ROOT)} lacks the GPL block"
                  " (run: python3 scripts/gpl-header.py)")
        return 1 if lacking else 0
    for f in lacking:
        f.write_text(HEADER + f.read_text())
        print(f"gpl-header: added to {f.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Converts modules/uacreg/README (the plain text that lynx makes of a
Kamailio module's DocBook) into that DocBook: modules/uacreg/doc/uacreg.xml
(the book: title, authors, copyright) and doc/uacreg_admin.xml (the Admin
Guide chapter: every section, paragraph, list and example of the README).

Re-runnable: it reads the README as it is now and overwrites both files, so a
README edited on another branch can be brought over at merge time:

    python3 scripts/readme-to-docbook.py     # README -> doc/*.xml
    make docs                                # doc/*.xml -> README
    make docs-check                          # README is the XML's output

From then on the XML is the source and the README is generated (make docs);
this script is only the bridge for READMEs edited by hand. It reads both the
hand-written layout (sections 1., 2. ...) and the one make docs generates
(Chapter 1, sections 1.1, 1.2 ..., xrefs 'Section 1.N, "Title"'): converting
the generated README gives the XML it came from again, so a branch that
edited the generated README by hand can be converted too.

What the README's text is read as (lynx's layout of Kamailio's readme.xsl):
  "N. Title", "N.M. Title", "N.M.K. Title" at column 0   sections
  "   Example 1.N. Title" then column-0 / deep lines    example + listing
  "     * item" (continued at 7), "         + item" (11) itemized lists
                                                       (lynx: "          + item" (12))
  "    1. item" (continued at 7)                        ordered list
  3-space text                                         paragraphs
  a paragraph whose second line is "   ----- ..."       a table, kept as
                                                       a literal layout
The header (title, subtitle, table of contents, list of examples) is made
again by the stylesheets, so it is not copied, except the subtitle.
"""
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
MOD = ROOT / "modules" / "uacreg"

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE {root} PUBLIC "-//OASIS//DTD DocBook XML V4.4//EN"
"http://www.oasis-open.org/docbook/xml/4.4/docbookx.dtd" [

<!-- Include general documentation entities -->
<!ENTITY % docentities SYSTEM "../../../../doc/docbook/entities.xml">
%docentities;

]>
"""
GENERATED = ("<!-- Made from modules/uacreg/README by scripts/readme-to-docbook.py;"
             " edit this file, then: make docs -->\n")

HEADING = re.compile(r"^(\d+(?:\.\d+)*)\. (\S.*)$")
EXAMPLE = re.compile(r"^   Example \d+\.\d+\. (.*)$")
BULLET = re.compile(r"^     \* (.*)$")
# the hand-written README nests at 9, lynx at 10
SUBBULLET = re.compile(r"^( {9,10})\+ (.*)$")
ORDERED = re.compile(r"^    \d+\. (.*)$")


def indent(line):
    return len(line) - len(line.lstrip(" "))


def slug(text):
    s = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return s or "section"


class Converter:
    def __init__(self, lines, refs=None):
        self.lines = lines
        self.out = []
        self.ids = set()
        # "11.3" -> section id, "Example 1.53" -> example id: filled by a
        # first pass, used by the second to make "Section 11.3" an xref
        # (the stylesheets number sections their own way)
        self.refs = refs if refs is not None else {}
        self.found = {}

    def emit(self, depth, text):
        self.out.append("\t" * depth + text)

    def uid(self, text):
        base = "uacreg." + slug(text)
        i, n = base, 2
        while i in self.ids:
            i, n = f"{base}_{n}", n + 1
        self.ids.add(i)
        return i

    # -- the header: title and subtitle before the first rule
    def header(self):
        title = self.lines[0].strip()
        sub = []
        i = 1
        while i < len(self.lines) and not self.lines[i].strip().startswith("____"):
            if self.lines[i].strip():
                sub.append(self.lines[i].strip())
            i += 1
        return title, " ".join(sub)

    def body_start(self):
        for i, l in enumerate(self.lines):
            if l == "1. Overview" or (HEADING.match(l) and HEADING.match(l).group(1) == "1"
                                      and i > 0 and not l.startswith(" ")):
                return i
        raise SystemExit("readme-to-docbook: no '1. Overview' at column 0")

    def is_heading(self, line, expect):
        m = HEADING.match(line)
        return bool(m) and m.group(1) in expect

    def expected(self, cur):
        """Numbers that may open the next section after section cur."""
        parts = [int(p) for p in cur.split(".")] if cur else []
        nxt = set()
        for d in range(len(parts)):
            p = parts[:d + 1]
            p[-1] += 1
            nxt.add(".".join(map(str, p)))
        nxt.add(".".join(map(str, parts + [1])))
        if not parts:
            nxt.add("1")
        return nxt

    def convert(self):
        title, subtitle = self.header()
        i = self.body_start()
        cur = ""
        open_levels = 0
        body = []
        while i < len(self.lines):
            line = self.lines[i]
            if self.is_heading(line, self.expected(cur)):
                m = HEADING.match(line)
                num, text = m.group(1), m.group(2)
                level = num.count(".") + 1
                while open_levels >= level:
                    open_levels -= 1
                    self.emit(open_levels + 1, "</section>")
                sid = self.uid(text)
                self.found[num] = sid
                self.emit(level, f'<section id="{sid}">')
                self.emit(level + 1, f"<title>{self.title(num, text)}</title>")
                open_levels = level
                cur = num
                i += 1
                # the mini table of contents lynx prints under a top section
                i = self.skip_toc(i, num)
                continue
            i = self.block(i, open_levels + 1, self.expected(cur))
        while open_levels:
            open_levels -= 1
            self.emit(open_levels + 1, "</section>")
        return title, subtitle

    def skip_toc(self, i, num):
        j = i
        while j < len(self.lines) and not self.lines[j].strip():
            j += 1
        k = j
        saw = False
        while k < len(self.lines) and re.match(r"^ +" + re.escape(num) + r"\.\d+(\.\d+)*\. ",
                                               self.lines[k]):
            saw = True
            k += 1
        return k if saw else i

    def title(self, num, text):
        t = escape(text)
        top = num.split(".")[0]
        if top == "3" and num.count(".") == 1:
            m = re.match(r"^(\S+) (\(.*\))$", text)
            if m:
                return f"<varname>{escape(m.group(1))}</varname> {escape(m.group(2))}"
        if top == "4" and num.count(".") == 1 and "(" in text:
            return f'<function moreinfo="none">{t}</function>'
        return t

    def para_text(self, lines):
        text = escape(" ".join(l.strip() for l in lines))

        def sec(m):
            sid = self.refs.get(m.group(1))
            return f'<xref linkend="{sid}"/>' if sid else m.group(0)

        def ex(m):
            eid = self.refs.get("Example " + m.group(1))
            return f'<xref linkend="{eid}"/>' if eid else m.group(0)
        text = re.sub(r"Section (\d+(?:\.\d+)*)", sec, text)
        return re.sub(r"Example (\d+\.\d+)", ex, text)

    def block(self, i, d, expect):
        line = self.lines[i]
        if not line.strip():
            return i + 1
        m = EXAMPLE.match(line)
        if m:
            label = re.match(r"^   (Example \d+\.\d+)\.", line).group(1)
            return self.example(i, d, m.group(1), expect, label)
        if BULLET.match(line):
            return self.itemized(i, d)
        if ORDERED.match(line):
            return self.ordered(i, d)
        ind = indent(line)
        if ind == 3:
            j = i
            lines = []
            while (j < len(self.lines) and self.lines[j].strip() and indent(self.lines[j]) == 3
                   and not EXAMPLE.match(self.lines[j])):
                lines.append(self.lines[j])
                j += 1
            # a table: the header's second line is a rule of dashes
            if len(lines) >= 2 and re.match(r"^   -{3,}( +-{3,})+\s*$", lines[1]):
                return self.literal(i, d)
            self.emit(d, "<para>")
            self.emit(d + 1, self.para_text(lines))
            self.emit(d, "</para>")
            return j
        # anything else (should not happen): keep it verbatim
        return self.literal(i, d)

    def literal(self, i, d):
        """Lines kept as they are (a table), up to the next blank line that is
        followed by a paragraph, a heading or the end."""
        j = i
        lines = []
        while j < len(self.lines) and self.lines[j].strip():
            lines.append(self.lines[j])
            j += 1
        # the hand-written README indents a table by 3 like its text; lynx
        # puts it at column 0
        if all(l.startswith("   ") for l in lines):
            lines = [l[3:] for l in lines]
        # a table cannot hold an xref without losing its columns: a "Section
        # N" there gets the label the stylesheets give (the Admin Guide is
        # chapter 1, so section N is 1.N)
        text = escape("\n".join(lines))
        text = re.sub(r"Section (\d+(?:\.\d+)*)",
                      lambda m: "Section 1." + m.group(1) if m.group(1) in self.refs
                      else m.group(0), text)
        self.out.append("\t" * d + '<programlisting format="linespecific">'
                        + text + "\n</programlisting>")
        return j

    def example(self, i, d, title, expect, label):
        j = i + 1
        lines = []
        while j < len(self.lines):
            l = self.lines[j]
            if not l.strip():
                # the listing ends at a blank line followed by text of the
                # page (indent 1..7), a heading, or the end
                k = j
                while k < len(self.lines) and not self.lines[k].strip():
                    k += 1
                if k >= len(self.lines):
                    break
                nl = self.lines[k]
                if 1 <= indent(nl) <= 7 or self.is_heading(nl, expect):
                    break
                lines.extend([""] * (k - j))
                j = k
                continue
            if lines and (self.is_heading(l, expect) or EXAMPLE.match(l)):
                break
            lines.append(l)
            j += 1
        eid = self.uid("ex " + title)
        self.found[label] = eid
        self.emit(d, f'<example id="{eid}">')
        self.emit(d + 1, f"<title>{escape(title)}</title>")
        self.out.append("\t" * (d + 1) + '<programlisting format="linespecific">\n'
                        + escape("\n".join(lines)) + "\n</programlisting>")
        self.emit(d, "</example>")
        return j

    def collect_item(self, i, first, cont):
        """An item's lines: its first, then lines indented by cont."""
        lines = [first]
        j = i + 1
        while j < len(self.lines) and self.lines[j].strip() and indent(self.lines[j]) == cont:
            lines.append(self.lines[j])
            j += 1
        return lines, j

    def itemized(self, i, d):
        self.emit(d, "<itemizedlist>")
        j = i
        while j < len(self.lines):
            m = BULLET.match(self.lines[j])
            if not m:
                break
            lines, j = self.collect_item(j, m.group(1), 7)
            self.emit(d + 1, "<listitem>")
            self.emit(d + 2, "<para>")
            self.emit(d + 3, self.para_text(lines))
            self.emit(d + 2, "</para>")
            if j < len(self.lines) and SUBBULLET.match(self.lines[j]):
                self.emit(d + 2, "<itemizedlist>")
                while j < len(self.lines):
                    s = SUBBULLET.match(self.lines[j])
                    if not s:
                        break
                    sl, j = self.collect_item(j, s.group(2), len(s.group(1)) + 2)
                    self.emit(d + 3, "<listitem>")
                    self.emit(d + 4, "<para>")
                    self.emit(d + 5, self.para_text(sl))
                    self.emit(d + 4, "</para>")
                    self.emit(d + 3, "</listitem>")
                self.emit(d + 2, "</itemizedlist>")
            self.emit(d + 1, "</listitem>")
        self.emit(d, "</itemizedlist>")
        return j

    def ordered(self, i, d):
        self.emit(d, "<orderedlist>")
        j = i
        while j < len(self.lines):
            m = ORDERED.match(self.lines[j])
            if not m:
                break
            lines, j = self.collect_item(j, m.group(1), 7)
            self.emit(d + 1, "<listitem>")
            self.emit(d + 2, "<para>")
            self.emit(d + 3, self.para_text(lines))
            self.emit(d + 2, "</para>")
            if j < len(self.lines) and BULLET.match(self.lines[j]):
                j = self.itemized(j, d + 2)
            self.emit(d + 1, "</listitem>")
        self.emit(d, "</orderedlist>")
        return j


def from_generated(lines):
    """A README made by make docs (section 1.N of "Chapter 1. Admin Guide",
    xrefs as 'Section 1.N, "Title"') back into the hand-written layout, so
    that a README edited after the switch converts too (a round trip gives
    the same XML)."""
    text = "\n".join(lines)
    # the xrefs' labels: "Section 1.11.3, “Title”" -> "Section 11.3" (the
    # title may be broken over lines)
    text = re.sub(r"Section 1\.(\d+(?:\.\d+)*),\s+\u201c[^\u201d]*\u201d", r"Section \1", text)
    text = re.sub(r"(Example \d+\.\d+),\s+\u201c[^\u201d]*\u201d", r"\1", text)
    # "Section 1.N" in a table (no xref there)
    text = re.sub(r"Section 1\.(\d+(?:\.\d+)*)", r"Section \1", text)
    lines = text.split("\n")
    out = [lines[0], ""]
    i = 1
    # the subtitle: the first paragraph after the title
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines) and lines[i].strip():
        out.append("   " + lines[i].strip())
        i += 1
    out.append("     " + "_" * 66)
    body = lines.index("Chapter 1. Admin Guide") + 1
    for line in lines[body:]:
        m = HEADING.match(line)
        if m and m.group(1).startswith("1."):
            line = f"{m.group(1)[2:]}. {m.group(2)}"
        out.append(line)
    return out


def main():
    readme = Path(sys.argv[1]) if len(sys.argv) > 1 else MOD / "README"
    lines = readme.read_text().split("\n")
    if "Chapter 1. Admin Guide" in lines:
        lines = from_generated(lines)
    first = Converter(lines)
    first.convert()
    conv = Converter(lines, first.found)
    title, subtitle = conv.convert()
    doc = MOD / "doc"
    doc.mkdir(exist_ok=True)
    admin = (HEAD.format(root="chapter") + GENERATED + "<!-- Module User's Guide -->\n\n"
             "<chapter>\n\n\t<title>&adminguide;</title>\n\n"
             + "\n".join(conv.out) + "\n\n</chapter>\n")
    (doc / "uacreg_admin.xml").write_text(admin)
    book = (HEAD.format(root="book") + GENERATED + f"""
<book xmlns:xi="http://www.w3.org/2001/XInclude">
	<bookinfo>
	<title>{escape(title)}</title>
	<subtitle>{escape(subtitle)}</subtitle>
	<productname class="trade">&kamailioname;</productname>
	<authorgroup>
		<author>
		<othername>uacreg authors</othername>
		</author>
	</authorgroup>
	<copyright>
		<year>2026</year>
		<holder>uacreg authors</holder>
	</copyright>
	</bookinfo>
	<toc></toc>

	<xi:include href="uacreg_admin.xml"/>

</book>
""")
    (doc / "uacreg.xml").write_text(book)
    print(f"readme-to-docbook: {readme} -> {doc}/uacreg.xml, {doc}/uacreg_admin.xml")


if __name__ == "__main__":
    main()

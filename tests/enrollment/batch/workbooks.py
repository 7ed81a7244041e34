"""Workbooks as Excel saves them: strings in a shared-strings part (openpyxl writes them inline)."""

from __future__ import annotations

import io
import re
import zipfile

SHARED_STRINGS_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
SHARED_STRINGS_REL = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
)
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
INLINE_CELL = re.compile(r'<c ([^>]*?)t="inlineStr"([^>]*)><is>(.*?)</is></c>', re.S)


def with_shared_strings(data: bytes) -> bytes:
    """The same workbook with its inline strings moved to xl/sharedStrings.xml."""
    source = zipfile.ZipFile(io.BytesIO(data))
    strings: dict[str, int] = {}

    def shared(match: re.Match) -> str:
        index = strings.setdefault(match.group(3), len(strings))
        return f'<c {match.group(1)}t="s"{match.group(2)}><v>{index}</v></c>'

    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                content = INLINE_CELL.sub(shared, content.decode()).encode()
            elif info.filename == "[Content_Types].xml":
                override = (
                    f'<Override PartName="/xl/sharedStrings.xml" '
                    f'ContentType="{SHARED_STRINGS_TYPE}"/></Types>'
                )
                content = content.replace(b"</Types>", override.encode())
            elif info.filename == "xl/_rels/workbook.xml.rels":
                relation = (
                    f'<Relationship Id="rIdShared" Type="{SHARED_STRINGS_REL}" '
                    'Target="sharedStrings.xml"/></Relationships>'
                )
                content = content.replace(b"</Relationships>", relation.encode())
            target.writestr(info.filename, content)
        table = "".join(f"<si>{body}</si>" for body in strings)
        target.writestr(
            "xl/sharedStrings.xml",
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN_NS}" '
            f'count="{len(strings)}" uniqueCount="{len(strings)}">{table}</sst>',
        )
    return output.getvalue()


def with_part(data: bytes, name: str, change) -> bytes:
    """The same workbook with part ``name`` replaced by ``change(its text)``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == name:
                content = change(content.decode()).encode()
            target.writestr(info.filename, content)
    return output.getvalue()

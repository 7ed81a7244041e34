"""参保缴费证明 as a PDF with Chinese text, the verification code and a QR code (reportlab).

The PDF is handed by the agent to whoever asked for the proof (a landlord, a school, a bank), so
it prints the person's full name, which the recipient compares with the holder, but only the
masked document number (first 6 and last 4 characters): a full ID number on paper that travels
to third parties would spread it without need (PIPL art. 6, minimum necessary; GB/T 35273), and
the masked number together with the name is enough to match an ID card shown in person. The
public check page shows the name masked as well, since anyone with the code can open it.

The QR code holds the absolute address of the check page for this code; the same address is a
link over the QR code for readers who open the file on screen.

The proof ends with the issuing agency's name under its seal and is signed with the agency's
certificate (portal.pdf.official_pdf), so that the recipient can also check it offline.
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import NamedTuple

from django.utils import timezone
from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from contributions.models import ContributionProof
from contributions.proofs.codes import proof_code_display
from portal.pdf import cjk_font, in_form_language, issuer_name, official_pdf, text_paragraph
from portal.pdf_table import PlainTable

TITLE = "参保缴费证明"
QR_SIZE = 32 * mm
QR_BORDER = 2  # modules of quiet zone around the code
HEADER_BG = colors.HexColor("#f0f0f0")
SUBTOTAL_BG = colors.HexColor("#f7f7f7")


# reportlab's mask penalties (QRUtil.getLostPoint, after ISO/IEC 18004 7.8.3): runs of five or
# more modules of one colour, 2x2 blocks of one colour, the finder-like 1:1:3:1:1 pattern
# followed by four light modules (along rows only: reportlab's column pass compares tuples with
# a list and never matches) and the share of dark modules.
SAME_COLOUR_RUN = re.compile(r"0{5,}|1{5,}")
FINDER_LIKE = "10111010000"
_AS_DIGITS = bytes.maketrans(b"\x00\x01", b"01")  # a row's modules (False/True) as 0 and 1


def _mask_penalty(modules: list[list[bool]]) -> int:
    """``QRUtil.getLostPoint`` of a QR code's modules, computed on rows of 0 and 1 as strings."""
    return _penalty([bytes(row).translate(_AS_DIGITS).decode() for row in modules])


def _penalty(rows: list[str]) -> int:
    """``QRUtil.getLostPoint`` of the modules in these rows of 0 (light) and 1 (dark)."""
    size = len(rows)
    columns = ["".join(column) for column in zip(*rows, strict=True)]
    score = 0
    # Every row and column in one string, apart: a run never goes from one into the next.
    runs = SAME_COLOUR_RUN.findall(" ".join(rows + columns))
    score += sum(map(len, runs)) - 2 * len(runs)
    # reportlab stops one module short of the end of a row.
    score += 40 * sum(row[:-1].count(FINDER_LIKE) for row in rows)
    # A 2x2 block: two rows alike in two adjacent columns that are alike in the upper row.
    values = [int(row, 2) for row in rows]
    pairs = (1 << (size - 1)) - 1
    for upper, lower in itertools.pairwise(values):
        alike = ~(upper ^ lower)
        score += 3 * (alike & (alike >> 1) & ~(upper ^ (upper >> 1)) & pairs).bit_count()
    dark = sum(row.count("1") for row in rows)
    return score + 10 * (abs(100 * dark // (size * size) - 50) // 5)


def _row_values(modules: list[list[bool]]) -> list[int]:
    """Each row of modules as a number, its first module the highest bit."""
    return [int(bytes(row).translate(_AS_DIGITS), 2) for row in modules]


# reportlab's mask values at a version's data modules, by (version, mask pattern).
_MASK_BITS: dict[tuple[int, int], list[bool]] = {}
# What depends on the version alone: the data modules' (column, row) in reportlab's order, and
# the modules of the finder, alignment and timing patterns (and the version information, its
# bits cleared while masks are tried) before the format information is written.
_DATA_POSITIONS: dict[int, list[tuple[int, int]]] = {}
_FUNCTION_PATTERNS: dict[tuple[int, bool], list[list[bool]]] = {}
# The same as numbers by row (_row_values): the function patterns while masks are tried, and
# each mask's values at the data modules, by (version, mask pattern).
_FUNCTION_ROWS: dict[int, list[int]] = {}
_MASK_ROWS: dict[tuple[int, int], list[int]] = {}


@functools.cache
def _rs_generator(ec_count: int) -> qrencoder.QRPolynomial:
    """reportlab's Reed-Solomon generator polynomial for ``ec_count`` error correction bytes."""
    return qrencoder.QRUtil.getErrorCorrectPolynomial(ec_count)


def _rs_remainder(data: list[int], generator: qrencoder.QRPolynomial) -> list[int]:
    """The error correction bytes of ``data``: its remainder by ``generator`` over GF(256).

    What reportlab's ``QRPolynomial(data, n).mod(generator)`` gives (with the leading zeros it
    drops put back), by long division in one list instead of one polynomial per step.
    """
    log, exp = qrencoder.LOG_TABLE, qrencoder.EXP_TABLE
    divisor = [log[coefficient] for coefficient in generator.num[1:]]  # the first is 1
    remainder = [*data, *[0] * len(divisor)]
    for index in range(len(data)):
        coefficient = remainder[index]
        if coefficient:
            shift = log[coefficient]
            for offset, term in enumerate(divisor, start=index + 1):
                remainder[offset] ^= exp[(term + shift) % 255]
    return remainder[len(data) :]


def _create_data(version: int, level: int, data_list) -> list[int]:
    """reportlab's ``QRCode.createData``: the data bytes, padded, then the error correction
    bytes, interleaved by block; the generator polynomials are made once (``_rs_generator``)."""
    blocks = qrencoder.QRRSBlock.getRSBlocks(version, level)
    buffer = qrencoder.QRBitBuffer()
    for data in data_list:
        data.write(buffer, version)
    capacity = sum(block.dataCount for block in blocks) * 8
    if buffer.getLengthInBits() > capacity:
        raise Exception(f"code length overflow. ({buffer.getLengthInBits()} > {capacity})")
    if buffer.getLengthInBits() + 4 <= capacity:
        buffer.put(0, 4)
    while buffer.getLengthInBits() % 8:
        buffer.putBit(False)
    for pad in itertools.cycle((qrencoder.QRCode.PAD0, qrencoder.QRCode.PAD1)):
        if buffer.getLengthInBits() >= capacity:
            break
        buffer.put(pad, 8)
    data_blocks, ec_blocks, offset = [], [], 0
    for block in blocks:
        data_blocks.append(buffer.buffer[offset : offset + block.dataCount])
        offset += block.dataCount
        generator = _rs_generator(block.totalCount - block.dataCount)
        ec_blocks.append(_rs_remainder(data_blocks[-1], generator))
    interleaved = itertools.chain(
        itertools.zip_longest(*data_blocks), itertools.zip_longest(*ec_blocks)
    )
    return [byte for row in interleaved for byte in row if byte is not None]


class _QRCode(qrencoder.QRCode):
    """reportlab's QR encoder, its eight masks scored on strings instead of module by module.

    Scoring them was 5 of the 7 ms reportlab took to encode a proof's address; the scores, and
    so the mask and the modules, are reportlab's own. What depends on the version alone (the
    masks' values at the data modules, the data modules' places, the function patterns, the
    error correction polynomials) is computed once per version, not nine times a code.
    """

    def _function_patterns(self, test: bool) -> list[list[bool]]:
        """The modules reportlab's makeImpl sets before the format information and the data."""
        self.moduleCount = self.version * 4 + 17
        key = (self.version, bool(test))
        patterns = _FUNCTION_PATTERNS.get(key)
        if patterns is None:
            self.modules = [[False] * self.moduleCount for _ in range(self.moduleCount)]
            self.setupPositionProbePattern(0, 0)
            self.setupPositionProbePattern(self.moduleCount - 7, 0)
            self.setupPositionProbePattern(0, self.moduleCount - 7)
            self.setupPositionAdjustPattern()
            self.setupTimingPattern()
            if self.version >= 7:
                self.setupTypeNumber(test)
            patterns = _FUNCTION_PATTERNS[key] = self.modules
        return patterns

    def _data(self) -> list[int]:
        if self.dataCache is None:
            self.dataCache = _create_data(self.version, self.errorCorrectLevel, self.dataList)
        return self.dataCache

    def makeImpl(self, test, maskPattern):
        # reportlab's makeImpl: the function patterns, the format information, the data.
        self.modules = [row.copy() for row in self._function_patterns(test)]
        self.setupTypeInfo(test, maskPattern)
        self.mapData(self._data(), maskPattern)

    def dataPosIterator(self):
        positions = _DATA_POSITIONS.get(self.version)
        if positions is None:
            positions = _DATA_POSITIONS[self.version] = list(self._dataPosIterator())
        return positions

    def _mask_bits(self, maskPattern) -> list[bool]:
        masks = _MASK_BITS.get((self.version, maskPattern))
        if masks is None:
            mask = qrencoder.QRUtil.getMask(maskPattern)
            masks = [bool(mask(row, column)) for column, row in self.dataPosIterator()]
            _MASK_BITS[self.version, maskPattern] = masks
        return masks

    def mapData(self, data, maskPattern):
        positions = self.dataPosIterator()  # the data modules' (column, row): by version
        masks = self._mask_bits(maskPattern)
        # reportlab's mapData: the data's bits in order, then light modules, each masked.
        bits = itertools.chain(self.dataBitIterator(data), itertools.repeat(False))
        modules = self.modules
        for (column, row), dark, masked in zip(positions, bits, masks, strict=False):
            modules[row][column] = dark ^ masked

    def getBestMaskPattern(self):
        """reportlab's choice: the mask whose modules, made by ``makeImpl(True, mask)``, have
        the lowest penalty. Those modules are the function patterns (the format information
        all light while masks are tried) and the data modules, the data's bits (then light
        modules) each masked: rows of numbers, ``patterns | (data ^ mask)``, the data placed
        once for the eight masks."""
        patterns = _FUNCTION_ROWS.get(self.version)
        if patterns is None:
            patterns = _FUNCTION_ROWS[self.version] = _row_values(self._function_patterns(True))
        size = self.moduleCount = self.version * 4 + 17
        top = size - 1
        data = [0] * size
        bits = self.dataBitIterator(self._data())
        for (column, row), dark in zip(self.dataPosIterator(), bits, strict=False):
            if dark:
                data[row] |= 1 << (top - column)
        scores = []
        for pattern in range(8):
            masks = _MASK_ROWS.get((self.version, pattern))
            if masks is None:
                masks = [0] * size
                positions = self.dataPosIterator()
                for (column, row), masked in zip(positions, self._mask_bits(pattern), strict=True):
                    if masked:
                        masks[row] |= 1 << (top - column)
                _MASK_ROWS[self.version, pattern] = masks
            rows = [
                format(function | (dark ^ masked), f"0{size}b")
                for function, dark, masked in zip(patterns, data, masks, strict=True)
            ]
            scores.append(_penalty(rows))
        return scores.index(min(scores))  # the first of equal scores, as reportlab


class QrFlowable(Flowable):
    """A QR code of ``url``, ``size`` points square, with a link to the same address."""

    def __init__(self, url: str, size: float = QR_SIZE):
        super().__init__()
        self.url = url
        self.size = size
        self.width = self.height = size

    def wrap(self, available_width, available_height):
        return self.size, self.size

    def draw(self):
        # Level M recovers about 15 % of damaged modules: a printed, folded and copied page.
        code = _QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        code.addData(self.url)
        code.make()
        # The rectangles reportlab's QrCodeWidget draws (one per run of dark modules in a row,
        # QR_BORDER modules of quiet zone), filled as one path instead of one shape each.
        box = self.size / (code.getModuleCount() + QR_BORDER * 2)
        path = self.canv.beginPath()
        for row_index, row in enumerate(code.modules):
            column = 0
            for dark, run in itertools.groupby(map(bool, row)):
                count = len(list(run))
                if dark:
                    x = (column + QR_BORDER) * box
                    y = self.size - (row_index + QR_BORDER + 1) * box
                    path.rect(x, y, count * box, box)
                column += count
        self.canv.saveState()
        self.canv.setFillColor(colors.black)
        self.canv.drawPath(path, stroke=0, fill=1)
        self.canv.restoreState()
        self.canv.linkURL(self.url, (0, 0, self.size, self.size), relative=1, thickness=0)


def _money(text: str) -> str:
    whole, _, cents = str(text).partition(".")
    sign = "-" if whole.startswith("-") else ""
    return f"{sign}{int(whole.lstrip('-') or 0):,}.{cents or '00'}"


def _period(entry: dict) -> str:
    return f"{entry['month_from']} 至 {entry['month_to']}"


class FormStyles(NamedTuple):
    """The paragraph styles of the printed forms (proofs, 个人权益记录)."""

    title: ParagraphStyle
    subtitle: ParagraphStyle
    body: ParagraphStyle
    cell: ParagraphStyle
    small: ParagraphStyle


@functools.cache
def form_styles(font: str) -> FormStyles:
    """The styles for ``font``, made once a process: each style's plain-text fragment is then
    parsed once too (portal.pdf.text_paragraph), not for every document. No caller changes them."""
    return FormStyles(
        ParagraphStyle("title", fontName=font, fontSize=20, leading=28, alignment=TA_CENTER),
        ParagraphStyle("subtitle", fontName=font, fontSize=11, leading=16, alignment=TA_CENTER),
        ParagraphStyle("body", fontName=font, fontSize=11, leading=18, wordWrap="CJK"),
        ParagraphStyle("cell", fontName=font, fontSize=9.5, leading=13, wordWrap="CJK"),
        ParagraphStyle("small", fontName=font, fontSize=9, leading=13, wordWrap="CJK"),
    )


@functools.cache
def _code_style(body: ParagraphStyle) -> ParagraphStyle:
    return ParagraphStyle("code", parent=body, fontSize=13, leading=20)


def form_grid(rows, widths, extra=()) -> Table:
    """A ruled table of a printed form, its header row shaded."""
    table = PlainTable(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                *extra,
            ]
        )
    )
    return table


@in_form_language
def proof_pdf(proof: ContributionProof, *, full_name: str, check_url: str, form_url: str) -> bytes:
    """Render the proof and return the PDF bytes (``proof.content`` holds what it states)."""
    font = cjk_font()
    content = proof.content
    unit = content["unit"]
    is_person = proof.kind == ContributionProof.Kind.PERSON
    code = proof_code_display(proof.code)
    issued = timezone.localtime(proof.created_at).strftime("%Y年%m月%d日 %H:%M")

    title_style, subtitle, body, cell, small = form_styles(font)

    def p(text, style=cell) -> Paragraph:
        return text_paragraph(str(text), style)

    story = [
        text_paragraph(TITLE, title_style),
        text_paragraph("(个人)" if is_person else "(单位)", subtitle),
        Spacer(1, 5 * mm),
    ]

    if is_person:
        person = content["person"]
        statement = (
            f"兹证明 {full_name}({person['document_type']} {person['document_number']})"
            f"在 {unit['name']}(单位社保编号 {unit['ss_number']})参加社会保险。"
        )
    else:
        statement = (
            f"兹证明 {unit['name']}(单位社保编号 {unit['ss_number']})参加社会保险,"
            f"截至开具时参保状态为正常的职工 {unit['insured_now']} 人。"
        )
    statement += (
        f"{_period(content)} 期间,缴费已到账的月份 {content['paid_months']} 个,"
        f"未缴费或未到账的月份 {content['unpaid_months']} 个,明细如下。"
    )
    story += [text_paragraph(statement, body), Spacer(1, 4 * mm)]

    info = [[p("单位名称"), p(unit["name"]), p("单位社保编号"), p(unit["ss_number"])]]
    if is_person:
        info.append([p("姓名"), p(full_name), p("证件号码"), p(person["document_number"])])
    info.append([p("证明期间"), p(_period(content)), p("开具时间"), p(issued)])
    info_table = PlainTable(info, colWidths=[26 * mm, 62 * mm, 28 * mm, 54 * mm])
    info_table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (0, -1), HEADER_BG),
                ("BACKGROUND", (2, 0), (2, -1), HEADER_BG),
            ]
        )
    )
    story += [info_table, Spacer(1, 4 * mm)]

    if is_person:
        rows = [[p("参保起始年月"), p("截止年月"), p("参保状态"), p("参保险种")]]
        for entry in content["enrolments"]:
            rows.append(
                [
                    p(entry["start_month"]),
                    p(entry["end_month"] or "至今"),
                    p(entry["status"]),
                    p("、".join(entry["insurance"])),
                ]
            )
        story += [
            text_paragraph("一、参保登记", body),
            form_grid(rows, [28 * mm, 24 * mm, 22 * mm, 96 * mm]),
            Spacer(1, 4 * mm),
        ]

    story.append(text_paragraph(("二、" if is_person else "一、") + "逐月缴费情况(已到账)", body))
    if is_person:
        header = ["费款所属期", "险种", "缴费基数", "单位缴费", "个人缴费", "合计"]
        widths = [24 * mm, 38 * mm, 27 * mm, 27 * mm, 27 * mm, 27 * mm]
    else:
        header = ["费款所属期", "险种", "人数", "缴费基数合计", "单位缴费", "个人缴费", "合计"]
        widths = [22 * mm, 34 * mm, 14 * mm, 27 * mm, 25 * mm, 24 * mm, 24 * mm]
    rows = [[p(text) for text in header]]
    spans, subtotals = [], []
    for month in content["months"]:
        first = len(rows)
        if not month["paid"]:
            rows.append([p(month["month"]), p(month["note"])] + [""] * (len(header) - 2))
            spans.append(("SPAN", (1, first), (-1, first)))
            spans.append(("TEXTCOLOR", (1, first), (-1, first), colors.HexColor("#9a3412")))
            continue
        for item in month["items"]:
            figures = [item["base"], item["employer"], item["personal"], item["total"]]
            row = [p(month["month"]), p(item["label"])]
            if not is_person:
                row.append(p(item["persons"]))
            rows.append(row + [p(_money(figure)) for figure in figures])
        if len(month["items"]) > 1:
            row = [p(month["month"]), p("小计")] + [""] * (len(header) - 5)
            rows.append(row + [p(_money(month[k])) for k in ("employer", "personal", "total")])
            subtotals.append(("BACKGROUND", (1, len(rows) - 1), (-1, len(rows) - 1), SUBTOTAL_BG))
        if len(rows) - first > 1:
            spans.append(("SPAN", (0, first), (0, len(rows) - 1)))
    story += [form_grid(rows, widths, spans + subtotals), Spacer(1, 4 * mm)]

    totals = content["totals"]
    rows = [[p("险种"), p("单位缴费合计"), p("个人缴费合计"), p("合计")]]
    for item in totals["by_type"]:
        rows.append(
            [p(item["label"])] + [p(_money(item[k])) for k in ("employer", "personal", "total")]
        )
    rows.append([p("总计")] + [p(_money(totals[k])) for k in ("employer", "personal", "total")])
    story += [
        text_paragraph(("三、" if is_person else "二、") + "已到账缴费合计(元)", body),
        form_grid(
            rows,
            [50 * mm, 40 * mm, 40 * mm, 40 * mm],
            [("BACKGROUND", (0, -1), (-1, -1), HEADER_BG)],
        ),
        Spacer(1, 6 * mm),
    ]

    verify = [
        text_paragraph(f"验证码:{code}", _code_style(body)),
        text_paragraph(f"开具时间:{issued}", small),
        text_paragraph(f"本证明可通过扫描二维码或访问 {form_url} 输入验证码核验真伪。", small),
        text_paragraph(
            "说明:本证明仅列示截至开具时已到账的缴费记录;“未缴费/未到账”表示该月没有已到账的"
            "缴费记录(含尚未缴费、扣款后银行尚未到账等情形)。证明作废后,核验页面将显示“已作废”。",
            small,
        ),
    ]
    block = Table([[QrFlowable(check_url), verify]], colWidths=[QR_SIZE + 6 * mm, 130 * mm])
    block.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (0, 0), 0)])
    )
    story.append(block)

    issuer = content.get("issuer") or {}
    return official_pdf(
        story,
        title=TITLE,
        footer_text=f"{TITLE} 验证码 {code}",
        issuer=issuer.get("name") or issuer_name(),
        region_code=issuer.get("region", ""),
        date_text=timezone.localtime(proof.created_at).strftime("开具日期:%Y年%m月%d日"),
        reason=TITLE,
    )

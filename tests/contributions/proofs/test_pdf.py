"""How the proof PDF is made faster than reportlab makes it, with reportlab's own results."""

from __future__ import annotations

import random
import string

from reportlab.graphics.barcode import qrencoder

from contributions.proofs.pdf import _mask_penalty, _QRCode

LEVEL_M = qrencoder.QRErrorCorrectLevel.M


def test_qr_masks_are_scored_and_chosen_as_reportlab_does():
    """For addresses of every QR version a proof's address can take (1 to 10), each mask's
    penalty is reportlab's getLostPoint and the code is the one reportlab's encoder makes."""
    rng = random.Random(13)
    chosen, versions = set(), set()
    for length in range(0, 206, 10):
        url = "https://" + "".join(
            rng.choice(string.ascii_letters + "./-_0") for _ in range(length)
        )
        reportlab_code = qrencoder.QRCode(None, LEVEL_M)
        reportlab_code.addData(url)
        reportlab_code.make()
        code = _QRCode(None, LEVEL_M)
        code.addData(url)
        code.make()

        assert code.modules == reportlab_code.modules
        for pattern in range(8):
            reportlab_code.makeImpl(True, pattern)
            assert _mask_penalty(reportlab_code.modules) == qrencoder.QRUtil.getLostPoint(
                reportlab_code
            )
        chosen.add(code.getBestMaskPattern())
        versions.add(code.version)
    assert len(chosen) >= 6 and versions >= set(range(1, 11))

"""Sniffing, the workbook safety check and safe names, on files made by ``hostile.py``."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import hostile
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from workbooks import seed_bytes

from selfeval_xlsx.filenames import display_name, safe_member_path, safe_name, zip_member_name
from selfeval_xlsx.findings import CODES, Finding
from selfeval_xlsx.limits import DEFAULT_LIMITS, MB, Limits
from selfeval_xlsx.safety import check_workbook, refusal
from selfeval_xlsx.sniff import KIND_LABELS, kind_of, ole_stream_names, sniff
from selfeval_xlsx.xlsx.zipread import ZipRefused, open_zip, read_member

Gen = Callable[[Path], Path]


def _bytes(tmp_path: Path, gen: Gen, name: str) -> bytes:
    return gen(tmp_path / name).read_bytes()


def _eml(path: Path) -> Path:
    return hostile.eml_rfc2231(path, {"宋营镇.xlsx": hostile.xlsx_bytes()})


def _mht(path: Path) -> Path:
    path.write_bytes(
        b"MIME-Version: 1.0\r\nX-Document-Type: Workbook\r\nContent-Type: multipart/related\r\n\r\n"
    )
    return path


def _html(path: Path) -> Path:
    path.write_bytes(
        b"\xef\xbb\xbf<html xmlns:x='urn:schemas-microsoft-com:office:excel'><body></body></html>"
    )
    return path


SNIFF_CASES = [
    (hostile.xlsx, "a.xlsx", "xlsx"),
    (hostile.xlsm, "a.xlsm", "xlsm"),
    (hostile.empty, "a.xlsx", "empty"),
    (hostile.random_bytes, "a.xlsx", "unknown"),
    (hostile.pdf, "a.xlsx", "pdf"),
    (hostile.docx, "a.xlsx", "docx"),
    (hostile.truncated_zip, "a.xlsx", "xlsx"),  # named from local headers; the check finds it corrupt
    (hostile.zip_without_workbook, "a.xlsx", "zip"),
    (hostile.encrypted_ole, "a.xlsx", "ole-encrypted"),
    (hostile.old_xls, "a.xls", "xls"),
    (hostile.wps_et, "a.et", "xls"),  # bytes alone cannot tell .et from .xls
    (hostile.xlsb, "a.xlsb", "xlsb"),
    (hostile.ods, "a.ods", "ods"),
    (hostile.png, "a.png", "image"),
    (hostile.text, "a.csv", "text"),
    (_eml, "a.eml", "eml"),
    (_mht, "a.xls", "mht"),
    (_html, "a.xls", "html"),
    (hostile.rar, "a.rar", "rar"),
    (hostile.outlook_msg, "a.msg", "msg"),
    (hostile.overlapping_zip, "a.zip", "zip"),
]


@pytest.mark.parametrize(("gen", "name", "kind"), SNIFF_CASES, ids=[c[1] + ":" + c[2] for c in SNIFF_CASES])
def test_sniff_decides_by_bytes(tmp_path: Path, gen: Gen, name: str, kind: str) -> None:
    assert sniff(_bytes(tmp_path, gen, name)) == kind


def test_kind_of_uses_the_name_only_for_et(tmp_path: Path) -> None:
    data = _bytes(tmp_path, hostile.wps_et, "a.et")
    assert kind_of(data, "宋营镇.et") == "et"
    assert kind_of(data, "宋营镇.xls") == "xls"
    assert kind_of(_bytes(tmp_path, hostile.pdf, "b.et"), "b.et") == "pdf"


REFUSED = [
    (hostile.empty, "empty.xlsx", "not-a-workbook", "文件为空"),
    (hostile.random_bytes, "random.xlsx", "corrupt-workbook", "损坏"),
    (hostile.pdf, "renamed.xlsx", "not-a-workbook", "该文件实际是PDF文档"),
    (hostile.docx, "word.xlsx", "not-a-workbook", "Word文档"),
    (hostile.png, "picture.xlsx", "not-a-workbook", "图片"),
    (hostile.text, "export.xls", "not-a-workbook", "文本文件"),
    (hostile.truncated_zip, "truncated.xlsx", "corrupt-workbook", "损坏或不完整"),
    (hostile.zip_without_workbook, "noparts.xlsx", "corrupt-workbook", "损坏或不完整"),
    (hostile.encrypted_ole, "password.xlsx", "encrypted-workbook", "取消密码"),
    (hostile.old_xls, "old.xls", "unsupported-format", "另存为"),
    (hostile.wps_et, "wps.et", "unsupported-format", "WPS"),
    (hostile.xlsb, "binary.xlsb", "unsupported-format", ".xlsb"),
    (hostile.ods, "open.ods", "unsupported-format", ".ods"),
    (_html, "web.xls", "unsupported-format", "网页"),
    (hostile.zip_bomb, "bomb.xlsx", "too-large", "压缩炸弹"),
    (hostile.lying_sizes_xlsx, "lying.xlsx", "corrupt-workbook", "损坏"),
    (hostile.huge_declared_xlsx, "huge.xlsx", "too-large", "压缩比异常"),  # 3 GB declared from 1.5 KB
    (hostile.zip_encrypted_member, "zipcrypto.xlsx", "encrypted-workbook", "密码"),
    (hostile.many_members_xlsx, "many.xlsx", "too-large", "部件过多"),
    (hostile.overlapping_zip, "overlap.xlsx", "corrupt-workbook", "损坏"),
    (hostile.billion_laughs_xlsx, "laughs.xlsx", "corrupt-workbook", "DOCTYPE"),
    (hostile.quadratic_blowup_xlsx, "quadratic.xlsx", "corrupt-workbook", "DOCTYPE"),
    (hostile.external_entity_xlsx, "xxe.xlsx", "corrupt-workbook", "DOCTYPE"),
    (hostile.utf16_doctype_xlsx, "utf16.xlsx", "corrupt-workbook", "DOCTYPE"),
    (hostile.ebcdic_xlsx, "ebcdic.xlsx", "corrupt-workbook", "字符编码"),
]


@pytest.mark.parametrize(("gen", "name", "code", "hint"), REFUSED, ids=[c[1] for c in REFUSED])
def test_check_workbook_refuses(tmp_path: Path, gen: Gen, name: str, code: str, hint: str) -> None:
    findings = check_workbook(_bytes(tmp_path, gen, name), name)
    assert [(f.code, f.severity) for f in findings] == [(code, "error")]
    f = findings[0]
    assert (f.file, f.sheet, f.cell) == (name, None, None)
    assert hint in f.message


def test_valid_workbooks_are_safe(tmp_path: Path) -> None:
    for data in (hostile.xlsx_bytes(), seed_bytes(), hostile.xlsx_bytes(rows=1500)):
        assert check_workbook(data, "宋营镇2023.xlsx") == []
        load_workbook(io.BytesIO(data)).close()  # and openpyxl agrees


def test_lying_local_header_alone_is_harmless(tmp_path: Path) -> None:
    """zipfile (and so openpyxl) trusts the central directory; a local header that lies changes nothing."""
    sheet = hostile.parts(hostile.xlsx_bytes())["xl/worksheets/sheet1.xml"]
    member = hostile.RawMember(b"xl/worksheets/sheet1.xml", sheet, local_size=10)
    data = hostile.xlsx_with({"xl/worksheets/sheet1.xml": member})
    assert check_workbook(data, "a.xlsx") == []


def test_macro_workbook_is_readable_with_a_warning(tmp_path: Path) -> None:
    findings = check_workbook(_bytes(tmp_path, hostile.xlsm, "a.xlsm"), "a.xlsm")
    assert [(f.code, f.severity) for f in findings] == [("macro-ignored", "warning")]


def test_absurd_dimension_is_a_warning_naming_the_sheet(tmp_path: Path) -> None:
    findings = check_workbook(_bytes(tmp_path, hostile.huge_dimension_xlsx, "a.xlsx"), "a.xlsx")
    assert [(f.code, f.severity, f.sheet, f.value) for f in findings] == [
        ("extra-data", "warning", "预算执行", "A1:XFD1048576")
    ]
    assert "2000行" in findings[0].message


@pytest.mark.parametrize("ref", [b"A1:J60", b"A1", b"B2:BL2000"])
def test_dimension_within_limits_is_silent(tmp_path: Path, ref: bytes) -> None:
    data = hostile.huge_dimension_xlsx(tmp_path / "a.xlsx", ref).read_bytes()
    assert check_workbook(data, "a.xlsx") == []


def test_dimension_limit_is_a_setting(tmp_path: Path) -> None:
    data = hostile.huge_dimension_xlsx(tmp_path / "a.xlsx", b"A1:J60").read_bytes()
    assert [f.code for f in check_workbook(data, "a.xlsx", Limits(max_rows=50))] == ["extra-data"]


@pytest.mark.parametrize("lie", [False, True], ids=["honest-headers", "lying-headers"])
def test_a_1_gb_bomb_is_refused_early_in_little_memory(tmp_path: Path, lie: bool) -> None:
    data = hostile.zip_bomb(tmp_path / "bomb.xlsx", inflated=1024 * MB, lie=lie).read_bytes()
    tracemalloc.start()
    started = time.perf_counter()
    findings = check_workbook(data, "bomb.xlsx")
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [f.severity for f in findings] == ["error"]
    assert findings[0].code == ("corrupt-workbook" if lie else "too-large")
    assert peak < 8 * MB  # it stopped long before inflating 1 GB
    # measured, not asserted: ~1 ms and < 1 MB peak on a developer machine
    print(
        f"1 GB bomb ({len(data) // 1024} KB, lie={lie}): "
        f"refused in {elapsed * 1000:.1f} ms, peak {peak / MB:.2f} MB"
    )


def test_bomb_hiding_its_ratio_is_caught_while_inflating() -> None:
    """Declared 40 MB from 240 KB (ratio 170, under every cap) but really ~1000×: stopped at ~1 MB."""
    body, crc = hostile.repeat_deflate(40 * MB)
    padded = body + b"\x00" * 200_000  # bytes after the deflate stream inflate the declared compressed size
    member = hostile.RawMember(b"xl/worksheets/sheet1.xml", compressed=padded, crc=crc, size=40 * MB)
    data = hostile.xlsx_with({"xl/worksheets/sheet1.xml": member})
    tracemalloc.start()
    findings = check_workbook(data, "a.xlsx")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [f.code for f in findings] == ["too-large"] and "压缩比异常" in findings[0].message
    assert peak < 8 * MB


def test_ratio_applies_only_above_the_floor() -> None:
    """900 KB of zeros compresses ~1000× but stays below the 1 MB floor: a normal (if odd) workbook."""
    data = hostile.rebuild_xlsx(hostile.xlsx_bytes(), {"xl/media/blank.bin": b"\x00" * 900_000})
    assert check_workbook(data, "a.xlsx") == []
    assert [f.code for f in check_workbook(data, "a.xlsx", Limits(ratio_floor_bytes=100_000))] == [
        "too-large"
    ]


@pytest.mark.parametrize(
    "limits",
    [
        Limits(max_file_bytes=1000),
        Limits(max_members=5),
        Limits(max_sheet_xml_bytes=1000),
        Limits(max_total_uncompressed=5000),
    ],
    ids=["file", "members", "sheet-xml", "total"],
)
def test_every_bound_is_a_setting(limits: Limits) -> None:
    findings = check_workbook(hostile.xlsx_bytes(), "a.xlsx", limits)
    assert [(f.code, f.severity) for f in findings] == [("too-large", "error")]


def test_normal_workbook_is_checked_fast() -> None:
    """Measured, not asserted (speed never is): the figure is printed for the record."""
    for label, data in (("xlsxwriter", hostile.xlsx_bytes()), ("seed template", seed_bytes())):
        check_workbook(data, "a.xlsx")
        n = 200
        started = time.perf_counter()
        for _ in range(n):
            check_workbook(data, "a.xlsx")
        per = (time.perf_counter() - started) / n
        print(f"check_workbook {label} ({len(data) // 1024} KB): {per * 1e6:.0f} µs")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cut=st.integers(min_value=0, max_value=7000),
    flips=st.lists(st.tuples(st.integers(0, 7000), st.integers(1, 255)), max_size=8),
)
def test_check_workbook_never_raises_on_damaged_files(cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(_VALID[:cut] if cut else _VALID)
    for pos, xor in flips:
        if pos < len(data):
            data[pos] ^= xor
    findings = check_workbook(bytes(data), "a.xlsx")  # never raises, whatever the damage
    assert all(isinstance(f, Finding) and f.code in CODES and f.file == "a.xlsx" for f in findings)
    assert sniff(bytes(data)) in KIND_LABELS


_VALID = hostile.xlsx_bytes()


# --- OLE2 --------------------------------------------------------------------------------------


def test_ole_stream_names_reads_the_directory() -> None:
    names = ole_stream_names(hostile.encrypted_ole_bytes())
    assert names == ["Root Entry", "EncryptionInfo", "EncryptedPackage"]


def test_ole_parser_refuses_loops_and_truncation() -> None:
    data = bytearray(hostile.xls_bytes())
    (first_dir,) = struct.unpack_from("<I", data, 48)
    struct.pack_into("<I", data, 512 + first_dir * 4, first_dir)  # the directory chain points to itself
    with pytest.raises(ValueError):
        ole_stream_names(bytes(data))
    with pytest.raises(ValueError):
        ole_stream_names(hostile.xls_bytes()[:700])
    assert sniff(bytes(data)) == "ole"  # an unreadable OLE file is still recognised as one


# --- zip helpers -------------------------------------------------------------------------------


def test_read_member_counts_real_bytes() -> None:
    data = hostile.raw_zip([hostile.RawMember(b"a.txt", b"x" * 10_000, size=100)])
    zf = open_zip(data)
    with pytest.raises(ZipRefused) as err:
        read_member(data, zf.infolist()[0], cap=DEFAULT_LIMITS.max_file_bytes)
    assert err.value.reason == "corrupt"
    assert refusal(err.value).code == "corrupt-workbook"
    honest = hostile.raw_zip([hostile.RawMember(b"a.txt", b"x" * 10_000)])
    zf = open_zip(honest)
    assert read_member(honest, zf.infolist()[0], cap=20_000) == b"x" * 10_000
    with pytest.raises(ZipRefused) as err:
        read_member(honest, zf.infolist()[0], cap=5_000)
    assert err.value.reason == "inflated"


def test_open_zip_bounds_the_directory_before_parsing_it() -> None:
    members = [hostile.RawMember(f"f{i}.txt".encode(), b"") for i in range(50)]
    with pytest.raises(ZipRefused) as err:
        open_zip(hostile.raw_zip(members), Limits(max_members=10))
    assert (err.value.reason, err.value.count) == ("members", 50)
    refused = refusal(err.value, Limits(max_members=10))
    assert refused.code == "too-large"
    assert "50个，上限10个" in refused.message


@pytest.mark.parametrize(
    ("raw", "flags", "expected"),
    [
        ("城关镇2023自评表.xlsx".encode("gbk"), 0, "城关镇2023自评表.xlsx"),  # Chinese Windows
        ("𠀀镇.xlsx".encode("gb18030"), 0, "𠀀镇.xlsx"),
        ("王庄乡.xlsx".encode(), 0x800, "王庄乡.xlsx"),  # flagged UTF-8
        ("王庄乡.xlsx".encode(), 0, "王庄乡.xlsx"),  # UTF-8 without the flag (some tools)
        (b"plain.xlsx", 0, "plain.xlsx"),
    ],
)
def test_zip_member_name_decodes_like_the_maker_meant(raw: bytes, flags: int, expected: str) -> None:
    zf = zipfile.ZipFile(io.BytesIO(hostile.raw_zip([hostile.RawMember(raw, b"x", flags=flags)])))
    assert zip_member_name(zf.infolist()[0]) == expected


def test_zip_member_name_prefers_the_unicode_path_field() -> None:
    raw = "城关镇.xlsx".encode("gbk")
    extra = hostile.unicode_path_extra("城关镇（修改）.xlsx", raw)
    zf = zipfile.ZipFile(io.BytesIO(hostile.raw_zip([hostile.RawMember(raw, b"x", extra=extra)])))
    assert zip_member_name(zf.infolist()[0]) == "城关镇（修改）.xlsx"


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("宋营镇2023自评表(修改).xlsx", "宋营镇2023自评表(修改).xlsx"),
        ("新建 Microsoft Excel 工作表.xlsx", "新建 Microsoft Excel 工作表.xlsx"),
        ("../evil.xlsx", "evil.xlsx"),
        ("..\\..\\evil.xlsx", "evil.xlsx"),
        ("/abs.xlsx", "abs.xlsx"),
        ("C:\\x.xlsx", "x.xlsx"),
        ("\\\\?\\C:\\x.xlsx", "x.xlsx"),
        ("a/b.xlsx", "a_b.xlsx"),
        ("CON.xlsx", "_CON.xlsx"),
        ("nul", "_nul"),
        ("com1.txt", "_com1.txt"),
        ("LPT9 .xlsx", "_LPT9 .xlsx"),
        ("a\x00b\n.xlsx", "ab.xlsx"),
        ('a<b>:"|?*.xlsx', "a_b______.xlsx"),
        ("report\u202excod.exe", "reportxcod.exe"),
        (".hidden.xlsx", "hidden.xlsx"),
        ("name. . ", "name"),
        ("..", "未命名"),
        ("", "未命名"),
        ("///", "未命名"),
    ],
)
def test_safe_name(raw: str, safe: str) -> None:
    assert safe_name(raw) == safe


def test_safe_name_bounds_length_keeping_the_extension() -> None:
    name = safe_name("长" * 300 + ".xlsx")
    assert len(name) <= DEFAULT_LIMITS.max_name_chars
    assert len(name.encode("utf-8")) <= 240
    assert name.endswith("….xlsx") and name.startswith("长长")
    assert len(safe_name("a" * 300 + ".xlsx", max_chars=20)) == 20


_FORBIDDEN = set('<>:"/\\|?*') | {chr(i) for i in range(32)}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_safe_name_is_always_a_plain_file_name_inside_the_folder(tmp_path: Path, raw: str) -> None:
    name = safe_name(raw)
    assert name and name not in (".", "..") and not name.startswith(".")
    assert not (_FORBIDDEN & set(name))
    assert name.split(".")[0].rstrip(" ").upper() not in {"CON", "PRN", "AUX", "NUL", "COM1", "LPT1"}
    assert len(name) <= DEFAULT_LIMITS.max_name_chars and len(name.encode("utf-8")) <= 240
    target = tmp_path / name
    assert target.parent == tmp_path
    target.write_bytes(b"")  # the file system accepts it, inside the folder
    assert target.exists()
    target.unlink()


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("dir/b.xlsx", "dir/b.xlsx"),
        ("dir\\b.xlsx", "dir/b.xlsx"),
        ("../evil.xlsx", "evil.xlsx"),
        ("dir/../../up.xlsx", "dir/up.xlsx"),
        ("/abs.xlsx", "abs.xlsx"),
        ("C:\\x.xlsx", "x.xlsx"),
        ("CON/aux.xlsx", "_CON/_aux.xlsx"),
        ("tab\there.xlsx", "tabhere.xlsx"),
    ],
)
def test_safe_member_path(raw: str, path: str) -> None:
    assert safe_member_path(raw) == path


def test_display_name_keeps_paths_and_drops_invisible_characters() -> None:
    assert display_name("sub/宋营镇\u200b2023.xlsx") == "sub/宋营镇2023.xlsx"
    assert display_name("a:b.xlsx") == "a:b.xlsx"  # display only: not made into a file name
    assert len(display_name("x" * 500 + ".xlsx")) <= DEFAULT_LIMITS.max_name_chars


def test_security_md_lists_every_limit_with_its_default() -> None:
    """SECURITY.md's table of settings must not drift from :class:`Limits`."""
    import dataclasses
    import re
    from pathlib import Path

    from selfeval_xlsx.limits import Limits

    text = (Path(__file__).resolve().parents[1] / "SECURITY.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", text, flags=re.M))
    for f in dataclasses.fields(Limits):
        shown = rows[f.name].strip()
        number, _, unit = shown.partition(" ")
        value = int(number.replace(",", "")) * {"": 1, "MB": 1024 * 1024, "KB": 1024}[unit]
        assert value == f.default, (f.name, shown, f.default)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (50 * MB, "50 MB"),
        (1024 * MB, "1 GB"),
        (int(52.34 * MB), "52.3 MB"),
        (15 * 1024, "15 KB"),
        (-5, "0 KB"),
    ],
)
def test_sizes_in_messages_are_one_format(n: int, text: str) -> None:
    from selfeval_xlsx.limits import size_text

    assert size_text(n) == text


def test_the_file_size_limit_reads_the_same_in_reader_intake_and_safety(tmp_path: Path) -> None:
    """The same limit used to read "52MB" from the reader and "50 MB" from intake and safety."""
    from selfeval_xlsx.intake import collect
    from selfeval_xlsx.reader import read_workbook

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    big = inbox / "大.xlsx"
    big.write_bytes(seed_bytes() + b"\0" * (3 * MB))
    limits = Limits(max_file_bytes=3 * MB)
    messages = [
        read_workbook(big, limits=limits).findings[0].message,
        collect(inbox, limits).rejected[0].findings[0].message,
        check_workbook(big.read_bytes(), big.name, limits)[0].message,
    ]
    assert all("3 MB" in m for m in messages), messages

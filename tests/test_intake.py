"""collect(): every file in an inbox gets exactly one fate, decided by its bytes; nothing is modified."""

from __future__ import annotations

import hashlib
import io
import os
import sys
from datetime import datetime
from pathlib import Path

import hostile
import pytest
from openpyxl import load_workbook

from selfeval_xlsx import intake as intake_module
from selfeval_xlsx.filenames import safe_member_path
from selfeval_xlsx.findings import make
from selfeval_xlsx.intake import Intake, Item, Rejected, Skipped, collect, safe_name
from selfeval_xlsx.limits import Limits

SONGYING = hostile.xlsx_bytes(title="宋营镇人民政府")


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every path under ``root`` (links not followed) with its content hash and mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            st = p.lstat()
            if p.is_symlink():
                out[str(p)] = ("link:" + os.readlink(p), st.st_mtime_ns)
            elif p.is_file():
                out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_mtime_ns)
            else:
                out[str(p)] = ("dir" if p.is_dir() else "special", st.st_mtime_ns)
    return out


def build_inbox(root: Path) -> Path:
    """An inbox holding one of every case; returns it. Names say what each file is."""
    inbox = root / "inbox"
    (inbox / "乡镇" / "补交").mkdir(parents=True)
    (inbox / ".git").mkdir()
    (inbox / ".git" / "config").write_text("x")
    (inbox / "__MACOSX").mkdir()
    (inbox / "__MACOSX" / "._宋营镇2023.xlsx").write_bytes(b"\x00\x05\x16\x07")

    (inbox / "宋营镇2023.xlsx").write_bytes(SONGYING)
    (inbox / "乡镇" / "宋营镇2023 - 副本.xlsx").write_bytes(SONGYING)  # byte-identical copy
    hostile.xlsx(inbox / "乡镇" / "补交" / "王庄乡.xlsx", title="王庄乡")
    hostile.xlsm(inbox / "城关镇（宏）.xlsm")
    hostile.huge_dimension_xlsx(inbox / "大范围.xlsx")

    hostile.pdf(inbox / "改名的PDF.xlsx")
    hostile.pdf(inbox / "说明.pdf")
    hostile.docx(inbox / "其实是Word.xlsx")
    hostile.docx(inbox / "通知.docx")
    hostile.png(inbox / "截图.png")
    hostile.text(inbox / "备注.txt", "请查收")
    hostile.empty(inbox / "空.xlsx")
    hostile.empty(inbox / "空白.txt")
    hostile.random_bytes(inbox / "乱码.xlsx")
    hostile.truncated_zip(inbox / "没下载完.xlsx")
    hostile.zip_without_workbook(inbox / "没有工作簿.xlsx")
    hostile.encrypted_ole(inbox / "有密码.xlsx")
    hostile.old_xls(inbox / "旧格式.xls")
    hostile.wps_et(inbox / "WPS表格.et")
    hostile.xlsb(inbox / "二进制.xlsb")
    hostile.zip_bomb(inbox / "炸弹.xlsx", inflated=256 * 1024 * 1024)
    hostile.zip_bomb(inbox / "撒谎的炸弹.xlsx", inflated=256 * 1024 * 1024, lie=True)
    hostile.lying_sizes_xlsx(inbox / "尺寸不符.xlsx")
    hostile.billion_laughs_xlsx(inbox / "实体炸弹.xlsx")
    hostile.quadratic_blowup_xlsx(inbox / "二次膨胀.xlsx")
    hostile.external_entity_xlsx(inbox / "外部实体.xlsx")
    hostile.lock_file(inbox / "~$宋营镇2023.xlsx")
    (inbox / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (inbox / "desktop.ini").write_text("[.ShellClassInfo]")
    (inbox / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")

    hostile.gbk_names_zip(
        inbox / "城关镇.zip",
        {
            "城关镇2023自评表.xlsx": hostile.xlsx_bytes(title="城关镇"),
            "附件/说明.txt": "说明".encode("gbk"),
            "__MACOSX/._城关镇2023自评表.xlsx": b"\x00",
            "~$城关镇2023自评表.xlsx": b"lock",
            "宋营镇副本.xlsx": SONGYING,  # duplicate of a loose file
        },
    )
    hostile.traversal_zip(inbox / "危险文件名.zip")
    hostile.nested_zip(inbox / "两层.zip", 2, hostile.xlsx_bytes(title="两层"))
    hostile.nested_zip(inbox / "三层.zip", 3, hostile.xlsx_bytes(title="三层"))
    hostile.plain_zip(inbox / "空压缩包.zip", {})
    (inbox / "坏压缩包.zip").write_bytes(hostile.plain_zip_bytes({"a.xlsx": SONGYING})[:-30])

    hostile.eml_rfc2231(
        inbox / "王楼乡来信.eml", {"王楼乡2023年自评表.xlsx": hostile.xlsx_bytes(title="王楼乡")}
    )
    hostile.eml_raw(
        inbox / "李村镇来信.eml",
        hostile.encoded_word("李村镇自评表.xlsx", "GBK"),
        hostile.xlsx_bytes(title="李村镇"),
    )
    hostile.eml_raw(
        inbox / "赵庄镇来信.eml",
        b'"' + "赵庄镇自评表.xlsx".encode("gbk") + b'"',  # raw 8-bit GBK in the header
        hostile.xlsx_bytes(title="赵庄镇"),
    )
    hostile.eml_raw(
        inbox / "镕镇来信.eml",
        hostile.encoded_word("镕镇自评表.xlsx", "GBK").replace(b"GBK", b"GB2312"),  # 镕 is not in GB2312
        hostile.xlsx_bytes(title="镕镇"),
    )
    hostile.eml_rfc2231(
        inbox / "打包来信.eml",
        {"张庄镇.zip": hostile.plain_zip_bytes({"张庄镇.xlsx": hostile.xlsx_bytes(title="张庄镇")})},
    )
    zip_in_zip = hostile.plain_zip_bytes(
        {"inner.zip": hostile.plain_zip_bytes({"深.xlsx": hostile.xlsx_bytes(title="深")})}
    )
    hostile.eml_rfc2231(inbox / "套娃来信.eml", {"外层.zip": zip_in_zip})
    hostile.eml_rfc2231(inbox / "没附件.eml", {})
    hostile.eml_nested_multipart(inbox / "复杂邮件.eml", levels=200)

    hostile.symlink(inbox / "外部链接.xlsx", root / "outside.xlsx")
    hostile.symlink(inbox / "内部链接.xlsx", inbox / "宋营镇2023.xlsx")
    (root / "outside.xlsx").write_bytes(hostile.xlsx_bytes(title="外部"))
    if hasattr(os, "mkfifo"):
        os.mkfifo(inbox / "管道.xlsx")
    return inbox


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_inbox(tmp_path_factory.mktemp("intake"))


@pytest.fixture(scope="module")
def result(inbox: Path) -> tuple[Intake, dict[str, tuple[str, int]], dict[str, tuple[str, int]]]:
    root = inbox.parent
    before = _snapshot(root)
    got = collect(inbox)
    return got, before, _snapshot(root)


def _by_name(entries: list[Item] | list[Rejected] | list[Skipped]) -> dict[str, object]:
    return {e.name: e for e in entries}


def test_inputs_are_untouched_and_nothing_is_written(result) -> None:
    _, before, after = result
    assert after == before  # same paths (nothing added anywhere under the tmp root), hashes, mtimes


def test_items(result) -> None:
    intake, _, _ = result
    assert sorted(i.name for i in intake.items) == sorted(
        [
            "宋营镇2023.xlsx",  # of identical copies, the one not named 副本 (issue 16)
            "乡镇/补交/王庄乡.xlsx",
            "城关镇（宏）.xlsm",
            "大范围.xlsx",
            "城关镇.zip › 城关镇2023自评表.xlsx",
            "两层.zip › level2.zip › 宋营镇.xlsx",
            "王楼乡来信.eml › 王楼乡2023年自评表.xlsx",
            "李村镇来信.eml › 李村镇自评表.xlsx",
            "赵庄镇来信.eml › 赵庄镇自评表.xlsx",
            "镕镇来信.eml › 镕镇自评表.xlsx",
            "打包来信.eml › 张庄镇.zip › 张庄镇.xlsx",
            *(
                f"危险文件名.zip › {n}"
                for n in ("evil.xlsx", "abs.xlsx", "x.xlsx", "_CON.xlsx", "dir/up.xlsx")
            ),
            "危险文件名.zip › tabhere.xlsx",
            "危险文件名.zip › " + safe_member_path("长" * 300 + ".xlsx"),
        ]
    )


def test_items_are_safe_exact_workbooks(result, inbox: Path) -> None:
    intake, _, _ = result
    for item in intake.items:
        assert item.kind in ("xlsx", "xlsm")
        assert item.sha256 == hashlib.sha256(item.data).hexdigest()
        load_workbook(io.BytesIO(item.data)).close()
        assert (inbox / item.origin).is_file()
        assert item.mtime == (inbox / item.origin).stat().st_mtime
    items = _by_name(intake.items)
    assert items["乡镇/补交/王庄乡.xlsx"].data == (inbox / "乡镇" / "补交" / "王庄乡.xlsx").read_bytes()
    assert items["城关镇.zip › 城关镇2023自评表.xlsx"].origin == "城关镇.zip"


def test_rejected_with_the_right_finding(result) -> None:
    intake, _, _ = result
    codes = {r.name: [f.code for f in r.findings if f.severity == "error"] for r in intake.rejected}
    assert codes == {
        "改名的PDF.xlsx": ["not-a-workbook"],
        "其实是Word.xlsx": ["not-a-workbook"],
        "空.xlsx": ["not-a-workbook"],
        "乱码.xlsx": ["corrupt-workbook"],
        "没下载完.xlsx": ["corrupt-workbook"],
        "没有工作簿.xlsx": ["corrupt-workbook"],
        "有密码.xlsx": ["encrypted-workbook"],
        "旧格式.xls": ["unsupported-format"],
        "WPS表格.et": ["unsupported-format"],
        "二进制.xlsb": ["unsupported-format"],
        "炸弹.xlsx": ["too-large"],
        "撒谎的炸弹.xlsx": ["corrupt-workbook"],
        "尺寸不符.xlsx": ["corrupt-workbook"],
        "实体炸弹.xlsx": ["corrupt-workbook"],
        "二次膨胀.xlsx": ["corrupt-workbook"],
        "外部实体.xlsx": ["corrupt-workbook"],
        "三层.zip › level2.zip › level3.zip": ["too-large"],
        "套娃来信.eml › 外层.zip › inner.zip": ["too-large"],
        "坏压缩包.zip": ["corrupt-workbook"],
        "复杂邮件.eml": ["too-large"],
    }
    rejected = _by_name(intake.rejected)
    assert rejected["改名的PDF.xlsx"].kind == "pdf"
    assert "该文件实际是PDF文档" in rejected["改名的PDF.xlsx"].findings[0].message
    assert rejected["WPS表格.et"].kind == "et" and "WPS" in rejected["WPS表格.et"].findings[0].message
    assert rejected["旧格式.xls"].kind == "xls"
    assert "另存为" in rejected["旧格式.xls"].findings[0].message
    assert rejected["有密码.xlsx"].kind == "ole-encrypted"
    assert all(r.sha256 for r in intake.rejected)  # all were read (none over the size limit)


def test_skipped_with_a_reason(result) -> None:
    intake, _, _ = result
    reasons = {s.name: s.reason for s in intake.skipped}
    expected = {
        "~$宋营镇2023.xlsx": "Office临时锁定文件",
        "Thumbs.db": "系统文件",
        "desktop.ini": "系统文件",
        ".DS_Store": "隐藏文件",
        ".git/": "隐藏文件夹",
        "__MACOSX/": "隐藏文件夹",
        "说明.pdf": "不是工作簿（PDF文档）",
        "通知.docx": "不是工作簿（Word文档）",
        "截图.png": "不是工作簿（图片）",
        "备注.txt": "不是工作簿（文本文件）",
        "空白.txt": "空文件",
        "乡镇/宋营镇2023 - 副本.xlsx": "重复文件（与 宋营镇2023.xlsx 内容相同）",
        "城关镇.zip › 宋营镇副本.xlsx": "重复文件（与 宋营镇2023.xlsx 内容相同）",
        "城关镇.zip › 附件/说明.txt": "不是工作簿",
        "城关镇.zip › __MACOSX/_城关镇2023自评表.xlsx": "隐藏文件夹",  # shown with its safe name
        "城关镇.zip › ~$城关镇2023自评表.xlsx": "Office临时锁定文件",
        "空压缩包.zip": "空压缩包",
        "没附件.eml": "邮件中没有附件",
    }
    if sys.platform != "win32":
        expected |= {
            "外部链接.xlsx": "指向收件箱外的链接",
            "内部链接.xlsx": "链接（未跟随",
            "管道.xlsx": "不是普通文件",
        }
    assert set(reasons) == set(expected)
    for name, reason in expected.items():
        assert reason in reasons[name], name
    duplicate = _by_name(intake.skipped)["乡镇/宋营镇2023 - 副本.xlsx"]
    assert duplicate.duplicate_of == "宋营镇2023.xlsx"


def test_seen_counts_every_outcome_once(result) -> None:
    intake, _, _ = result
    assert intake.seen == len(intake.items) + len(intake.skipped) + len(intake.rejected)
    names = [e.name for e in [*intake.items, *intake.skipped, *intake.rejected]]
    assert len(names) == len(set(names))
    # opened containers are not counted themselves; unreadable or empty ones are
    assert "城关镇.zip" not in names and "王楼乡来信.eml" not in names
    assert {"坏压缩包.zip", "空压缩包.zip", "没附件.eml"} <= set(names)


def test_lists_are_sorted_and_collect_is_deterministic(result, inbox: Path) -> None:
    intake, _, _ = result
    for entries in (intake.items, intake.skipped, intake.rejected):
        keys = [(e.origin, e.name) for e in entries]
        assert keys == sorted(keys)
    assert collect(inbox) == intake


def test_email_items_carry_the_date_header(result) -> None:
    intake, _, _ = result
    items = _by_name(intake.items)
    for name in ("王楼乡来信.eml › 王楼乡2023年自评表.xlsx", "李村镇来信.eml › 李村镇自评表.xlsx"):
        assert items[name].email_date == hostile.EMAIL_DATE
        assert isinstance(items[name].email_date, datetime)
    assert items["打包来信.eml › 张庄镇.zip › 张庄镇.xlsx"].email_date == hostile.EMAIL_DATE
    assert items["乡镇/补交/王庄乡.xlsx"].email_date is None


def test_unsafe_member_names_are_sanitised_with_a_warning(result) -> None:
    intake, _, _ = result
    risky = [i for i in intake.items if i.origin == "危险文件名.zip"]
    assert len(risky) == 7
    for item in risky:
        codes = [f.code for f in item.findings]
        assert codes == ["unsafe-name"]
        member = item.name.split(" › ", 1)[1]
        assert ".." not in member.split("/") and not member.startswith("/") and ":" not in member
        assert "\t" not in item.name and len(member) <= Limits().max_name_chars
        assert safe_name(item.name) == safe_name(safe_name(item.name))  # usable for output names
    finding = next(i for i in risky if i.name.endswith("› evil.xlsx")).findings[0]
    assert finding.severity == "warning" and "../evil.xlsx" in finding.message


def test_macro_and_dimension_warnings_ride_on_the_item(result) -> None:
    intake, _, _ = result
    items = _by_name(intake.items)
    assert [f.code for f in items["城关镇（宏）.xlsm"].findings] == ["macro-ignored"]
    assert items["城关镇（宏）.xlsm"].kind == "xlsm"
    assert [f.code for f in items["大范围.xlsx"].findings] == ["extra-data"]


# --- settings and failure isolation -------------------------------------------------------------------


def test_archives_we_cannot_open_are_rejected_not_skipped(tmp_path: Path) -> None:
    """They may hold a submission, so the township must hear about them."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    hostile.rar(inbox / "宋营镇.rar")
    hostile.outlook_msg(inbox / "来信.msg")
    got = collect(inbox)
    assert [(r.name, r.kind, r.findings[0].code) for r in got.rejected] == [
        ("宋营镇.rar", "rar", "unsupported-format"),
        ("来信.msg", "msg", "unsupported-format"),
    ]
    assert "另存为" in got.rejected[1].findings[0].message


def test_max_extracted_cuts_off_an_archive(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    hostile.plain_zip(inbox / "多.zip", {f"{i}.xlsx": hostile.xlsx_bytes(title=f"单位{i}") for i in range(5)})
    got = collect(inbox, Limits(max_extracted=2))
    assert [i.name for i in got.items] == ["多.zip › 0.xlsx", "多.zip › 1.xlsx"]
    assert [(r.name, r.findings[0].code) for r in got.rejected] == [("多.zip", "too-large")]
    assert "其余3个未读取" in got.rejected[0].findings[0].message


def test_max_file_bytes_rejects_without_reading(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    hostile.xlsx(inbox / "大.xlsx", rows=500)
    hostile.pdf(inbox / "大.pdf")
    (inbox / "大.pdf").write_bytes(hostile.PDF + b"\n%" + b"x" * 5000)
    got = collect(inbox, Limits(max_file_bytes=2000))
    assert [(r.name, r.sha256, r.findings[0].code) for r in got.rejected] == [("大.xlsx", "", "too-large")]
    assert [s.name for s in got.skipped] == ["大.pdf"] and "超过大小上限" in got.skipped[0].reason


def test_intake_memory_budget(tmp_path: Path) -> None:
    """Only workbooks taken out of archives and e-mails are held in memory, and only up to the limit."""
    import zipfile

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(3):
        hostile.xlsx(tmp_path / f"{i}.xlsx", title=f"单位{i}")
    size = (tmp_path / "0.xlsx").stat().st_size
    with zipfile.ZipFile(inbox / "打包.zip", "w") as zf:
        for i in range(3):
            zf.write(tmp_path / f"{i}.xlsx", f"{i}.xlsx")
    for i in range(3):  # plain inbox files do not count: they are read again when processed
        (inbox / f"散{i}.xlsx").write_bytes((tmp_path / f"{i}.xlsx").read_bytes() + b"")
    got = collect(inbox, Limits(max_intake_bytes=2 * size + 10))
    held = [i.name for i in got.items if i.held]
    assert held == ["打包.zip › 0.xlsx", "打包.zip › 1.xlsx"]
    assert [(r.name, r.findings[0].code) for r in got.rejected] == [("打包.zip › 2.xlsx", "too-large")]


def test_plain_files_are_read_again_and_checked(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    hostile.xlsx(inbox / "a.xlsx", title="单位")
    [item] = collect(inbox).items
    assert item.held == b"" and item.path and item.data == (inbox / "a.xlsx").read_bytes()
    hostile.xlsx(inbox / "a.xlsx", title="另一个单位")  # replaced after intake
    with pytest.raises(intake_module.ChangedFile):
        item.data  # noqa: B018


def test_max_depth_is_a_setting(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    hostile.nested_zip(inbox / "两层.zip", 2, SONGYING)
    assert [r.findings[0].code for r in collect(inbox, Limits(max_depth=1)).rejected] == ["too-large"]
    assert len(collect(inbox, Limits(max_depth=3)).items) == 1


def test_max_inbox_files(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(5):
        hostile.xlsx(inbox / f"{i}.xlsx", title=f"单位{i}")
    got = collect(inbox, Limits(max_inbox_files=3))
    assert len(got.items) == 3
    assert any("收件箱文件过多" in s.reason for s in got.skipped)


def test_one_failing_file_never_stops_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    hostile.xlsx(inbox / "a.xlsx", title="甲")
    hostile.xlsx(inbox / "b.xlsx", title="乙")
    real = intake_module.check_workbook

    def flaky(data: bytes, name: str, limits: Limits) -> list:
        if name == "a.xlsx":
            raise RuntimeError("boom")
        return real(data, name, limits)

    monkeypatch.setattr(intake_module, "check_workbook", flaky)
    got = collect(inbox)
    assert [i.name for i in got.items] == ["b.xlsx"]
    assert [(r.name, r.findings[0].code) for r in got.rejected] == [("a.xlsx", "corrupt-workbook")]


def test_control_characters_in_disk_names(tmp_path: Path) -> None:
    if sys.platform == "win32":
        pytest.skip("Windows forbids these names")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "宋营镇\n2023\u202e.xlsx").write_bytes(SONGYING)
    got = collect(inbox)
    (item,) = got.items
    assert item.name == "宋营镇2023.xlsx" and item.origin == "宋营镇\n2023\u202e.xlsx"
    assert [f.code for f in item.findings] == ["unsafe-name"]


def test_gbk_bytes_in_disk_names(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("needs a file system that takes any bytes")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with open(os.path.join(os.fsencode(inbox), "宋营镇.xlsx".encode("gbk")), "wb") as f:
        f.write(SONGYING)
    got = collect(inbox)
    assert [i.name for i in got.items] == ["宋营镇.xlsx"]


def test_missing_inbox_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        collect(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        collect(tmp_path / "file")


def test_skipped_and_rejected_are_plain_values() -> None:
    f = make("too-large", "x", file="a")
    assert Rejected("a", "a", "zip", "", (f,)) == Rejected("a", "a", "zip", "", (f,))
    assert Skipped("a", "a", "r").duplicate_of is None


def test_identical_copies_keep_the_original(tmp_path: Path) -> None:
    """Of byte-identical files the kept one is what a person calls the original: never a name marked
    副本/Copy/(1) when another exists, else the earliest received (issue 16)."""
    data = hostile.xlsx_bytes(title="原件")
    (tmp_path / "宋营镇(修改) - 副本.xlsx").write_bytes(data)
    (tmp_path / "宋营镇(修改).xlsx").write_bytes(data)
    (tmp_path / "宋营镇(修改)(1).xlsx").write_bytes(data)
    os.utime(tmp_path / "宋营镇(修改) - 副本.xlsx", (1_700_000_000, 1_700_000_000))  # the copy is older
    got = collect(tmp_path)
    assert [i.name for i in got.items] == ["宋营镇(修改).xlsx"]
    later, earlier = tmp_path / "later", tmp_path / "earlier"
    later.mkdir(), earlier.mkdir()
    (later / "a.xlsx").write_bytes(data)
    (earlier / "b.xlsx").write_bytes(data)
    os.utime(later / "a.xlsx", (1_700_000_900, 1_700_000_900))
    os.utime(earlier / "b.xlsx", (1_700_000_000, 1_700_000_000))
    assert [i.name for i in collect(later.parent).items if "/" in i.name] == ["earlier/b.xlsx"]


def test_sample_gbk_zip_shows_chinese_names() -> None:
    """The sample zip is a true GBK zip (as Windows' built-in compressor writes it: no UTF-8 flag, GBK
    name bytes), and intake shows its member's Chinese name."""
    import zipfile

    path = Path(__file__).parent.parent / "samples" / "inbox" / "安济镇自评材料.zip"
    (info,) = zipfile.ZipFile(path).infolist()
    assert not info.flag_bits & 0x800
    assert info.orig_filename.encode("cp437") == "安济镇/安济镇2023自评表.xlsx".encode("gbk")
    names = [i.name for i in collect(path.parent).items]
    assert "安济镇自评材料.zip › 安济镇/安济镇2023自评表.xlsx" in names
    assert not any("░" in n for n in names)


def test_items_from_an_email_carry_its_sender() -> None:
    inbox = Path(__file__).parent.parent / "samples" / "inbox"
    got = {i.name: i for i in collect(inbox).items}
    assert got["邮件/梨园镇报送自评表.eml › 梨园镇2023年整体支出绩效自评表.xlsx"].email_from == (
        "梨园镇财政所 <lyz@example.cn>"
    )
    assert got["洨河镇.xlsx"].email_from == ""


def test_sniffing_left_to_the_worker_gives_every_file_the_same_fate(inbox: Path) -> None:
    """``collect(defer=True)`` (merge) leaves the kind of inbox files with a workbook's name and a zip's
    bytes to the worker; ``refused`` there gives the very Rejected entries intake makes itself."""
    plain = collect(inbox, check=False)
    deferred = collect(inbox, check=False, defer=True)
    waiting = [i for i in deferred.items if i.kind == intake_module.DEFERRED]
    moved = [r for i in waiting if (r := intake_module.refused(i, i.data)) is not None]
    assert waiting and {r.kind for r in moved} >= {"docx", "xlsb"}  # 其实是Word.xlsx, 二进制.xlsb
    assert all(i.path for i in waiting)  # only files on disk, never members held in memory
    gone = {r.name for r in moved}
    assert [i.name for i in deferred.items if i.name not in gone] == [i.name for i in plain.items]
    rejected = sorted([*deferred.rejected, *moved], key=lambda r: (r.origin, r.name))
    assert rejected == plain.rejected
    assert deferred.skipped == plain.skipped and deferred.seen == plain.seen


def test_a_merge_gives_every_file_the_same_fate_whoever_sniffs_it(
    inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from selfeval_xlsx import api
    from selfeval_xlsx import merge as merge_module

    def outcome(out: Path) -> tuple[object, ...]:
        result = api.merge(inbox, out, jobs=2)
        data = json.loads((out / "rollup.json").read_text(encoding="utf-8"))
        for roll in data["rollups"]:
            roll.pop("generated", None)
        drafts = sorted(p.name for p in (out / "drafts").iterdir())
        return result.counts, result.rejected, result.skipped, result.superseded, data, drafts

    deferred = outcome(tmp_path / "deferred")
    real = merge_module.collect
    monkeypatch.setattr(merge_module, "collect", lambda *a, **k: real(*a, **{**k, "defer": False}))
    assert outcome(tmp_path / "sniffed") == deferred
    assert deferred[0]["rejected"] >= 13  # type: ignore[index]

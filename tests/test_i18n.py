"""The message catalog: every message in the code has a finished Korean entry, the compiled .mo is
the .po's, the language follows --lang / the system, the CLI speaks Korean, Hangul data works.

The widget walk (the app's shown strings) is ``tests/test_ui_korean.py``.
"""

from __future__ import annotations

import gettext
import importlib.util
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from convviz import i18n
from convviz.design import CATALOG, TEMPLATES, load_template

ROOT = Path(__file__).resolve().parent.parent

#: Words that stay as they are in Korean text: layer and library names, units, formula symbols,
#: file types, keys. (Node ids, class names and the catalog's names are added where known.)
KEPT_WORDS = set("""
    MACs MAC B KiB MiB GiB TiB px s ms min h k M G T RF id Id ID
    PyTorch torch torchvision torchrun torchinfo nn Module fx ONNX onnx onnxscript onnxruntime opset Opset Pillow
    numpy NumPy Python JSON json CSV PNG GIF JPEG BMP TIFF WebP RGB RGBA LA CPU GPU GPUs CUDA MPS Apple
    DDP DistributedDataParallel Slurm Kubernetes Kubeflow Adam AdamW SGD Grad CAM ReLU LeNet AlexNet VGG ResNet
    GoogLeNet MobileNet CNN LeCun Conv2d convviz convviz_runtime requirements txt NaN std luma
    Ctrl Shift Alt Meta Space Del Backspace Esc Enter Tab PgUp PgDown Home End Ins Cmd
    same valid max min sum mean argmax log viridis inferno gray coolwarm ceil_mode params
    H W C N HxW CxHxW DIR OUT IN MODEL_OR_DESIGN IMAGE FILE PATH DESIGN VIEW K ID CLASS PATH_OR_SAMPLE
    LANG LANGUAGE DISPLAY WAYLAND_DISPLAY QT_QPA_PLATFORM offscreen CONVVIZ_TRACEBACK X11 Qt X Debian Ubuntu
    sudo apt install pip py pt pt2 gz idx MNIST Fashion CIFAR data_batch_ label_names labels data uint8 uint16
    MD5 dict pickle gzip true false null None Identity Add Concat Input Flatten Linear Softmax
    all_unused templates summary explain export train import default help version lang input node top cam
    out_features in_features kernel_size out_channels in_channels stride padding dilation groups bias
    lenet5 resnet18 vgg11 vgg16 alexnet inception_3a mobilenet_block conv5x5_vs_bottleneck two3x3_vs_5x5
    dilated grouped design en ko COMMAND features filters field window png NAME white black
    English vs depthwise pointwise model
    DenseNet EfficientNet SqueezeNet ShuffleNet MBConv MobileNetV2 MobileNetV3 Net GoogLeNet Hardswish SiLU
    Bernoulli GAN GANs FPN ELU PReLU fire squeeze expand
    activation jump shape swish softplus sigmoid tanh erf
""".split())
#: Terms of the field that stay English in Korean text too ("squeeze-and-excitation", a model's name).
KEPT_PHRASES = ("squeeze-and-excitation", "MobileNetV3-Small", "U-Net")


def english_words(text: str, allowed: set[str] = frozenset()) -> set[str]:
    """The English words of ``text`` that are not kept as they are: runs of two or more Latin
    letters that are neither in ``KEPT_WORDS``, nor ``allowed``, nor identifiers (with a digit
    or an underscore: conv1, out_channels), nor option names (--input), nor file names."""
    for phrase in KEPT_PHRASES:
        text = text.replace(phrase, " ")
    text = re.sub(r"(?<![\w.])--?[A-Za-z][\w-]*", " ", text)  # options
    text = re.sub(r"\b[\w.-]+\.(json|pt2?|py|onnx|png|gif|gz|txt|sh|yaml|qm)\b", " ", text)  # file names
    text = re.sub(r"\b[\w+]+(\+[\w=+-]+)+", " ", text)  # key sequences: Ctrl+Shift+Z
    found = set()
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", text):
        word = word.rstrip(".")
        if len(word) < 2 or word in KEPT_WORDS or word in allowed or re.search(r"[\d_.]", word):
            continue
        if word.lower() in KEPT_WORDS or word in CATALOG:
            continue
        found.add(word)
    return found


def test_the_word_check_tells_english_from_korean():
    assert english_words("Save the design") == {"Save", "the", "design"} - KEPT_WORDS
    assert english_words("설계를 저장합니다") == set()
    assert english_words("Conv2d 3×3 합성곱, 파라미터 61,706개 (MACs), conv1.weight, --input CxHxW") == set()
    assert english_words("Ctrl+Shift+Z, F2") == set()


def tool():
    """tools/translations.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location("translations", ROOT / "tools" / "translations.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["translations"] = module
    spec.loader.exec_module(module)
    return module


# --- the catalog ---------------------------------------------------------------------------------

def test_every_message_in_the_code_has_a_finished_korean_translation():
    t = tool()
    messages, problems = t.extract()
    assert [str(p) for p in problems] == []  # no f-string in tr(), no tr() run at import time
    assert len(messages) > 600
    catalog = t.read_po(t.po_path("ko").read_text(encoding="utf-8"))
    entries = catalog.by_key()
    wanted = {(m.msgid, m.plural): m for m in messages}
    missing = [key[0] for key in wanted if key not in entries]
    assert missing == [], "run python tools/translations.py update, then translate the new entries"
    stale = [e.msgid for e in catalog.entries if e.key not in wanted]
    assert stale == [], "messages no longer in the code: run python tools/translations.py update"
    unfinished = [problem for e in catalog.entries for problem in t.entry_problems(e)]
    assert unfinished == []
    assert catalog.header["Plural-Forms"] == "nplurals=1; plural=0;"


def test_the_compiled_catalog_is_the_po_compiled():
    """The committed .mo (what the wheel and the app bundle ship) is exactly the .po compiled now."""
    t = tool()
    catalog = t.read_po(t.po_path("ko").read_text(encoding="utf-8"))
    assert t.mo_path("ko").read_bytes() == t.compile_mo(catalog), \
        "convviz/locale/ko/LC_MESSAGES/convviz.mo is stale: run python tools/translations.py update"


def test_the_po_reads_and_writes_back_unchanged_and_compiles_for_gettext(tmp_path):
    t = tool()
    text = t.po_path("ko").read_text(encoding="utf-8")
    catalog = t.read_po(text)
    assert t.write_po(catalog) == text  # the tool's own format: updates touch only what changed
    sample = t.Catalog({"Content-Type": "text/plain; charset=UTF-8", "Plural-Forms": "nplurals=2; plural=(n != 1);"}, [
        t.Entry("Save", None, ["저장"]),
        t.Entry("{n} layer", "{n} layers", ["층 {n}개(1)", "층 {n}개"]),
        t.Entry("Line one\nline two \"quoted\"", None, ["첫 줄\n둘째 줄 \"인용\""]),
        t.Entry("Fuzzy", None, ["흐림"], flags=["fuzzy"]),
        t.Entry("Empty", None, [""]),
    ])
    written = t.read_po(t.write_po(sample))
    assert [(e.msgid, e.plural, e.msgstr, e.fuzzy) for e in written.entries] == \
        [(e.msgid, e.plural, e.msgstr, e.fuzzy) for e in sample.entries]
    (tmp_path / "s.mo").write_bytes(t.compile_mo(sample))
    with open(tmp_path / "s.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.gettext("Save") == "저장"
    assert compiled.ngettext("{n} layer", "{n} layers", 1) == "층 {n}개(1)"
    assert compiled.ngettext("{n} layer", "{n} layers", 5) == "층 {n}개"
    assert compiled.gettext("Line one\nline two \"quoted\"") == "첫 줄\n둘째 줄 \"인용\""
    assert compiled.gettext("Fuzzy") == "Fuzzy" and compiled.gettext("Empty") == "Empty"  # English, not wrong


def test_the_checks_catch_what_a_translator_can_get_wrong():
    t = tool()
    assert t.entry_problems(t.Entry("Set padding to {p}", None, ["패딩 설정: {q}"])) != []
    assert t.entry_problems(t.Entry("Set padding to {p}", None, ["패딩 설정"])) != []
    assert t.entry_problems(t.Entry("&File", None, ["파일"])) != []  # the menu key lost
    assert t.entry_problems(t.Entry("&File", None, ["파일(&F)"])) == []
    assert t.entry_problems(t.Entry("A &nbsp;B", None, ["가 나"])) == []  # an HTML entity is no key
    assert t.entry_problems(t.Entry("x", None, ["엑스"], flags=["fuzzy"])) != []


def test_the_extractor_finds_literals_and_refuses_what_it_cannot_translate(tmp_path):
    t = tool()
    package = tmp_path / "convviz"
    package.mkdir()
    (package / "m.py").write_text(
        "from .i18n import N_, ntr, tr\n"
        "TABLE = (N_('marked'),)\n"
        "AT_IMPORT = tr('too early')\n"
        "def f(n, x):\n"
        "    tr('plain {x}').format(x=x)\n"
        "    ntr('{n} layer', '{n} layers', n)\n"
        "    tr(f'an f-string {x}')\n"
        "    tr(TABLE[0])\n", encoding="utf-8")
    messages, problems = t.extract(package)
    assert {(m.msgid, m.plural) for m in messages} == {("marked", None), ("too early", None), ("plain {x}", None),
                                                       ("{n} layer", "{n} layers")}
    assert sorted(p.where.split(":")[1] for p in problems) == ["3", "7"]


def test_update_keeps_translations_and_starts_a_reworded_message_from_the_old_one():
    t = tool()
    old = t.Catalog({"Plural-Forms": "nplurals=1; plural=0;"}, [t.Entry("Open a design file", None, ["설계 파일을 엽니다"]),
                                                              t.Entry("Save the design", None, ["설계를 저장합니다"]),
                                                              t.Entry("Gone for good", None, ["사라짐"])])
    merged = t.merge(old, [t.Message("Open a design file"), t.Message("Save the design now"), t.Message("New")])
    by = {e.msgid: e for e in merged.entries}
    assert by["Open a design file"].msgstr == ["설계 파일을 엽니다"] and not by["Open a design file"].fuzzy
    assert by["Save the design now"].fuzzy and by["Save the design now"].previous == "Save the design"
    assert by["Save the design now"].msgstr == ["설계를 저장합니다"]  # to check, not shown until then
    assert by["New"].msgstr == [""] and "Gone for good" not in by and "Save the design" not in by


def test_template_titles_and_sample_names_are_in_the_catalog():
    from convviz.data.images import SAMPLE_TITLES, sample_images
    from convviz.design.templates import TITLES, file_title

    assert {file_title(name) for name in TEMPLATES} == set(TITLES)
    assert {s.name.replace("_", " ") for s in sample_images()} == set(SAMPLE_TITLES)


# --- choosing the language -----------------------------------------------------------------------

@pytest.fixture
def environment(monkeypatch):
    for variable in i18n.LANGUAGE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def test_the_system_language_comes_from_the_environment_as_gettext_reads_it(environment):
    environment.setenv("LANG", "ko_KR.UTF-8")
    assert i18n.system_language() == "ko"
    environment.setenv("LANGUAGE", "en_US:ko")  # the user's list: English first
    assert i18n.system_language() == "en"
    environment.setenv("LANGUAGE", "fr:ko")  # no French: the next one
    assert i18n.system_language() == "ko"
    environment.delenv("LANGUAGE")
    environment.setenv("LC_ALL", "C")
    assert i18n.system_language(["ko-KR"]) == "en"


def test_without_locale_variables_the_platform_decides(environment):
    assert i18n.system_language(["ko-KR", "en-US"]) == "ko"  # what Qt reads from Windows or macOS


def test_set_language_takes_any_spelling_and_falls_back_to_english():
    try:
        assert i18n.set_language("ko_KR.UTF-8") == "ko" and i18n.tr("&File") == "파일(&F)"
        assert i18n.ntr("Copied {count} layer", "Copied {count} layers", 3) == "층 {count}개를 복사했습니다"
        assert i18n.set_language("fr_FR") == "en" and i18n.tr("&File") == "&File"
    finally:
        i18n.set_language("en")


def test_tests_run_in_english():
    assert i18n.language() == "en" and os.environ["LANGUAGE"] == "en"


# --- the command line ----------------------------------------------------------------------------

def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in i18n.LANGUAGE_VARIABLES}
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "convviz", *args], capture_output=True, text=True,
                          env=environment, timeout=120, cwd=ROOT)


def test_lang_ko_in_the_environment_makes_the_summary_korean():
    result = run_cli("summary", "lenet5", LANG="ko_KR.UTF-8")
    assert result.returncode == 0, result.stderr
    assert "전체 파라미터: 61,706" in result.stdout and "수용 영역: 16" in result.stdout
    assert english_words(result.stdout, {"input", "output", "flatten"} | set(load_template("lenet5").node_ids)) == set()
    from convviz.analysis.report import display_width

    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("층"))
    first = next(line for line in lines if line.startswith("input "))
    # Hangul takes two columns in a terminal: the header's columns start where the rows' do.
    assert display_width(header[:header.index("출력 형태")]) == display_width(first[:first.index("1×32×32")])


def test_lang_option_wins_over_the_environment_before_or_after_the_command():
    assert "Total params: 61,706" in run_cli("summary", "lenet5", "--lang", "en", LANG="ko_KR.UTF-8").stdout
    assert "전체 파라미터" in run_cli("--lang", "ko", "summary", "lenet5", LANG="C").stdout
    assert "전체 파라미터" in run_cli("summary", "--lang=ko", "lenet5").stdout


HELP_COMMANDS = [["--help"], ["summary", "--help"], ["templates", "--help"], ["explain", "--help"],
                 ["export", "--help"], ["import", "--help"], ["train", "--help"], ["runs", "--help"],
                 *([["runs", action, "--help"] for action in ("list", "show", "compare", "export", "delete", "rename")]),
                 ["--help-app"]]


@pytest.mark.parametrize("args", HELP_COMMANDS)
def test_the_help_is_korean(args, capsys, monkeypatch):
    """argparse's own words too ("usage:", "options:"); option names, metavars and choices stay."""
    import argparse

    from convviz.cli import app_parser, main

    monkeypatch.setattr(argparse, "_", i18n.tr)  # as main() does (the app's parser is used without it)
    from convviz.train.config import AMP_MODES, DEVICES, OPTIMIZERS, SCHEDULES

    i18n.set_language("ko")
    try:
        if args == ["--help-app"]:
            text = app_parser().format_help()
        else:
            with pytest.raises(SystemExit):
                main([*args, "--lang", "ko"])
            text = capsys.readouterr().out
    finally:
        i18n.set_language("en")
    assert "사용법:" in text and "옵션:" in text
    keep = {"train", "runs", "design", "explain", "features_", "filters_", "gradcam", "predictions", "CLASS",
            "white", "black", "transparent", "conv", "synthetic", "mnist", "fashion", "cifar10", "folder", "auto",
            "off", "rotation", "shear", "elastic", "mirror", "crop", "color", "best", "last", "initial",
            "ACTION", "RUN", "KEYS", "KEY", "NAME", "LIST", "SOURCE", "CHECKPOINT", "EPOCHS", "BATCH_SIZE", "LR",
            "MOMENTUM", "WEIGHT_DECAY", "SEED", "VAL_FRACTION", "CONVVIZ_RUNS", "list", "show", "compare", "delete",
            "rename", "replay", "gradients", "eval"} | set(TEMPLATES) | set(OPTIMIZERS) | set(SCHEDULES) | set(DEVICES) | set(AMP_MODES)
    text = text.split("\n\n", 1)[1]  # past the usage lines: option names, metavars and choices
    text = re.sub(r"-\n\s*", "-", text)  # argparse wraps "--no-weights" at its hyphen
    assert english_words(text, keep) == set(), text
    if args[0] in ("train", "runs") and len(args) == 2:
        assert "학습" in text or "실행" in text


def test_command_errors_are_korean_and_keep_their_prefix():
    result = run_cli("summary", "no_such_design", "--lang", "ko")
    assert result.returncode == 1
    assert result.stderr.startswith("convviz: error: ") and "설계 파일도 템플릿도 아닙니다" in result.stderr
    usage = run_cli("frobnicate", LANG="ko_KR.UTF-8")
    assert usage.returncode == 2 and "명령" in usage.stderr
    choice = run_cli("summary", "lenet5", "--lang", "fr")
    assert choice.returncode == 2 and "--lang" in choice.stderr


# --- Hangul data ---------------------------------------------------------------------------------

def test_hangul_class_folders_are_class_names_in_nfc(tmp_path):
    """Folders named in Hangul are the classes, composed the same way whether the file system keeps
    them composed or decomposed (macOS), and sorted in 가나다 order."""
    from PIL import Image

    from convviz.data.folder import scan_folder

    for name in ("고양이", unicodedata.normalize("NFD", "강아지"), "토끼"):
        folder = tmp_path / "사진" / name
        folder.mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), (i * 90, 30, 60)).save(folder / f"이미지{i}.png")
    classes, paths, labels = scan_folder(tmp_path / "사진")
    assert classes == ["강아지", "고양이", "토끼"]
    assert all(unicodedata.is_normalized("NFC", c) for c in classes)
    assert len(paths) == 6 and sorted(labels) == [0, 0, 1, 1, 2, 2]


def test_a_hangul_design_round_trips_through_its_file_and_the_cli(tmp_path):
    from convviz.design import load_design, save_design

    design = load_template("default")
    design.name = "도형 분류기"
    design.set_classes(["원", "정사각형", "삼각형", "십자", "더하기", "채운 원", "가로 막대", "세로 막대", "엑스", "별"])
    path = tmp_path / "한글 폴더" / "내 설계.json"
    path.parent.mkdir()
    save_design(design, path)
    assert "도형 분류기" in path.read_text(encoding="utf-8")  # readable UTF-8, not \\u escapes
    again = load_design(path)
    assert again.name == "도형 분류기" and again.classes == design.classes
    result = run_cli("summary", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["nodes"]


def test_the_py_export_keeps_hangul_class_names_as_strings_with_a_valid_class_name(tmp_path):
    import ast

    from convviz.export.pysource import module_source, source_class_name

    design = load_template("default")
    design.name = "고양이 분류기"
    design.set_classes(["고양이", "개", '따옴표 "안"'] + [f"클래스{i}" for i in range(7)])
    source = module_source(design)
    tree = ast.parse(source)
    classes = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                   and getattr(node.targets[0], "id", "") == "CLASSES")
    assert [element.value for element in classes.elts] == design.classes
    name = source_class_name(design)
    assert name.isidentifier() and name.isascii()
    assert any(isinstance(node, ast.ClassDef) and node.name == name for node in tree.body)
    namespace: dict = {}
    exec(compile(source, "고양이.py", "exec"), namespace)  # noqa: S102 — our own generated source
    assert namespace["CLASSES"] == design.classes


def test_a_hangul_node_id_is_refused_with_a_reason_in_korean():
    """Ids become Python attribute names in PyTorch code: ASCII only, said so in Korean."""
    from convviz.design import id_problem

    assert id_problem("합성곱1") is not None
    i18n.set_language("ko")
    try:
        assert "영문자" in id_problem("합성곱1")
    finally:
        i18n.set_language("en")


def test_train_and_the_run_store_speak_korean(tmp_path, capsys):
    """``convviz train`` and ``convviz runs list|show|compare`` in Korean: their lines, the epoch table's
    headers and the runs table, with Hangul columns aligned as a terminal shows them."""
    from convviz.analysis.report import display_width
    from convviz.cli import main
    from dataset_files import write_mnist

    write_mnist(tmp_path / "mnist", train=64, test=32, gz=True)
    runs = str(tmp_path / "runs")
    common = ["--runs", runs, "--lang", "ko"]
    try:
        for seed in ("1", "2"):
            assert main(["train", "lenet5", "--data", f"mnist:{tmp_path / 'mnist'}", "--epochs", "1",
                         "--batch-size", "32", "--seed", seed, "--name", f"실험 {seed}", *common]) == 0
        trained = capsys.readouterr()
        assert main(["runs", "list", *common]) == 0
        listing = capsys.readouterr().out
        assert main(["runs", "show", "1", *common]) == 0
        shown = capsys.readouterr().out
        assert main(["runs", "compare", "1", "2", *common]) == 0
        compared = capsys.readouterr().out
    finally:
        i18n.set_language("en")
    assert trained.out.startswith("에폭 1/1  학습 손실") and "검증 정확도" not in trained.out
    assert "실행 #1" in trained.err and "#2" in trained.err
    allowed = {"LeNet", "MNIST", "mnist", "adam", "onecycle", "cpu", "OTHER"} | set(tmp_path.parts)
    for text in (trained.out, trained.err, listing, shown, compared):
        text = re.sub(r"\b\d{8}-\d{6}-[0-9a-f]+\b", " ", text.replace(runs, " ").replace(str(tmp_path), " "))  # run ids
        assert english_words(text, allowed) == set(), text
    header, first = listing.splitlines()[:2]
    assert header.startswith("#") and "최고 검증 정확도" in header and "실험 1" in listing
    # Hangul takes two columns: the header's "when" column starts where the rows' dates do.
    assert display_width(header[:header.index("시각")]) == display_width(first[:first.index("20")])
    assert "학습 손실" in shown and "시드" in compared

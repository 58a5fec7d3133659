"""Text of a WeasyPrint PDF, for tests (``pdftotext`` is not installed here).

Small and specific: objects are found with a regular expression, Flate streams inflated, each
Type0 font's ToUnicode CMap read (bfchar and bfrange), and the hex strings of ``Tj``/``TJ`` in the
content streams decoded with the font selected by ``Tf``. Text objects (BT … ET) become lines; each new
text position adds a space."""

import re
import shutil
import subprocess
import tempfile
import zlib

_OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
_STREAM = re.compile(rb"^(.*?)stream\r?\n(.*)\r?\nendstream", re.S)


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    objects = {}
    for match in _OBJECT.finditer(pdf):
        number, body = int(match.group(1)), match.group(2)
        stream = _STREAM.match(body)
        if stream is None:
            objects[number] = (body, None)
            continue
        head, data = stream.group(1), stream.group(2)
        if b"/FlateDecode" in head:
            data = zlib.decompress(data)
        objects[number] = (head, data)
        if b"/Type /ObjStm" in head:
            objects.update(_object_stream(head, data))
    return objects


def _object_stream(head: bytes, data: bytes) -> dict[int, tuple[bytes, None]]:
    """The objects packed in an object stream (PDF 1.5+): "num offset" pairs, then the bodies."""
    first = int(re.search(rb"/First (\d+)", head).group(1))
    pairs = [int(n) for n in data[:first].split()]
    numbers, offsets = pairs[0::2], pairs[1::2]
    bodies = {}
    for index, (number, offset) in enumerate(zip(numbers, offsets, strict=True)):
        end = first + offsets[index + 1] if index + 1 < len(offsets) else len(data)
        bodies[number] = (data[first + offset:end], None)
    return bodies


def _cmap(data: bytes) -> dict[int, str]:
    text = data.decode("latin1")
    mapping: dict[int, str] = {}

    def unicode(hex_text: str) -> str:
        raw = bytes.fromhex(hex_text)
        return raw.decode("utf-16-be", "replace")

    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            mapping[int(src, 16)] = unicode(dst)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, dst in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            start = int(dst, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[code] = chr(start + offset)
    return mapping


def _fonts(objects) -> dict[str, dict[int, str]]:
    cmaps: dict[int, dict[int, str]] = {}
    for number, (head, _data) in objects.items():
        match = re.search(rb"/ToUnicode (\d+) 0 R", head)
        if match and int(match.group(1)) in objects and objects[int(match.group(1))][1] is not None:
            cmaps[number] = _cmap(objects[int(match.group(1))][1])
    names: dict[str, dict[int, str]] = {}
    for head, _data in objects.values():
        for name, ref in re.findall(rb"/([A-Za-z0-9+_.-]+) (\d+) 0 R", head):
            if int(ref) in cmaps:
                names[name.decode()] = cmaps[int(ref)]
    return names


_TOKENS = re.compile(rb"/([A-Za-z0-9+_.-]+)\s+[-\d.]+\s+Tf|<([0-9a-fA-F]*)>\s*Tj|\[(.*?)\]\s*TJ|\b(Tm|ET)\b", re.S)


def _decode(hex_text: bytes, cmap: dict[int, str]) -> str:
    raw = bytes.fromhex(hex_text.decode())
    return "".join(cmap.get(int.from_bytes(raw[i:i + 2], "big"), "") for i in range(0, len(raw) - 1, 2))


def pdf_text(pdf: bytes) -> str:
    """The text of ``pdf`` (pdftotext when available, else the decoder above)."""
    if shutil.which("pdftotext"):
        with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
            handle.write(pdf)
            handle.flush()
            return subprocess.run(["pdftotext", "-layout", handle.name, "-"], capture_output=True, check=True,
                                  text=True).stdout
    objects = _objects(pdf)
    fonts = _fonts(objects)
    lines, current, cmap = [], [], {}
    for _head, data in objects.values():
        if data is None or b"Tf" not in data:
            continue
        for match in _TOKENS.finditer(data):
            font, single, array, operator = match.groups()
            if operator == b"Tm":
                current.append(" ")  # a new position: keep pieces of text apart
            elif font is not None:
                cmap = fonts.get(font.decode(), {})
            elif single is not None:
                current.append(_decode(single, cmap))
            elif array is not None:
                current.extend(_decode(part, cmap) for part in re.findall(rb"<([0-9a-fA-F]*)>", array))
            else:
                lines.append("".join(current))
                current = []
    return "\n".join(line for line in lines if line.strip())

#!/usr/bin/env python3
"""Generates Sources/CognitoModel/Generated from Cognito's official service model (botocore's
cognito-idp service-2.json): a Codable struct per structure shape, an enum per enumerated
string (with an `unrecognized` case, so a value outside the set is a validation error, as in
Cognito, not a decoding one), the operations with their input, output and whether they need
SigV4, the exceptions, and each shape's constraints as a `validate` that words failures the
way Cognito does. Run by hand after a botocore upgrade; the output is committed.

    scripts/generate-cognito-model.py [SERVICE_JSON]   (default: the venv's botocore)
"""
import glob
import gzip
import json
import keyword
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "Sources", "CognitoModel", "Generated")

SWIFT_KEYWORDS = {
    "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
    "internal", "let", "open", "operator", "private", "protocol", "public", "rethrows", "static", "struct",
    "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do", "else", "fallthrough",
    "for", "guard", "if", "in", "repeat", "return", "switch", "where", "while", "as", "catch", "false", "is", "nil",
    "super", "self", "Self", "throw", "throws", "true", "try", "Type", "Protocol",
}


def load_model(path):
    if path is None:
        found = glob.glob(os.path.join(ROOT, ".venv", "lib", "python*", "site-packages", "botocore", "data",
                                       "cognito-idp", "*", "service-2.json*"))
        if not found:
            sys.exit("no botocore cognito-idp model in .venv: run scripts/bootstrap, or name the file")
        path = sorted(found)[-1]
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        return json.load(f), path


def lower_camel(name):
    """AWS member name → Swift property name: `UserPoolId` → `userPoolId`, `SRP_A` → `srpA`."""
    if "_" in name or name.isupper():
        parts = [p for p in re.split(r"_+", name) if p]
        out = parts[0].lower() + "".join(p[:1].upper() + p[1:].lower() for p in parts[1:])
    else:
        m = re.match(r"^([A-Z]+)([A-Z][a-z].*)$", name)
        if m:
            out = m.group(1).lower() + m.group(2)
        else:
            out = name[:1].lower() + name[1:]
    out = re.sub(r"[^A-Za-z0-9_]", "_", out)
    if out[:1].isdigit():
        out = "_" + out
    return f"`{out}`" if out in SWIFT_KEYWORDS else out


def bare(name):
    return name.strip("`")


def enum_case(value):
    """An enum value → a Swift case name: `USER_SRP_AUTH` → `userSrpAuth`, `custom:x` → `customX`."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", value) if p]
    if not parts:
        return "empty"
    words = []
    for p in parts:
        words += re.findall(r"[A-Z]+(?=[A-Z][a-z]|[0-9]|$)|[A-Z]?[a-z]+|[A-Z]+|[0-9]+", p) or [p]
    out = words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:])
    if out[:1].isdigit():
        out = "v" + out
    return f"`{out}`" if out in SWIFT_KEYWORDS else out


def java_to_icu(pattern):
    """Java's regex classes are ASCII-only (\\w, \\s, \\d); ICU's are Unicode. Spell them out."""
    word, space, digit = "a-zA-Z0-9_", " \\t\\n\\x{0B}\\f\\r", "0-9"
    out, i, depth = [], 0, 0
    pattern = pattern.replace("[\\S]", "[^" + space + "]")
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            n = pattern[i + 1]
            inside = depth > 0
            if n == "w":
                out.append(word if inside else "[" + word + "]")
            elif n == "s":
                out.append(space if inside else "[" + space + "]")
            elif n == "d":
                out.append(digit if inside else "[" + digit + "]")
            elif n == "S" and not inside:
                out.append("[^" + space + "]")
            else:
                out.append(c + n)
            i += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth > 0:
            depth -= 1
        out.append(c)
        i += 1
    return "".join(out)


def wrapped(head, items, tail, indent):
    """`head(items)tail` on one line if it fits in 120 columns, else one item per line."""
    one = indent + head + ", ".join(items) + tail
    if len(one) <= 120:
        return [one]
    return [indent + head] + [indent + "    " + item + "," for item in items] + [indent + tail.lstrip(" ")
                                                                                  if not tail.startswith(")") else indent + tail]


def split_top(text):
    """Splits `text` at commas outside brackets and strings."""
    parts, depth, cur, quote = [], 0, "", False
    for i, ch in enumerate(text):
        if ch == '"' and (i == 0 or text[i - 1] != "\\"):
            quote = not quote
        if not quote:
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(cur.strip())
                cur = ""
                continue
        cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def wrap_line(line):
    """A line over 120 columns as several: argument and element lists one item per line."""
    if len(line) <= 120:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    body = line.strip()
    if body.startswith("case ") and body.endswith((": false", ": 500", ": 400", ": true")):
        head, tail = body.rsplit(":", 1)
        items = split_top(head[len("case "):])
        out, cur = [], indent + "case "
        for i, item in enumerate(items):
            piece = item + ("," if i < len(items) - 1 else ":" + tail)
            if len(cur) + len(piece) + 1 > 120 and cur.strip() != "case":
                out.append(cur.rstrip())
                cur = indent + "    "
            cur += piece + " "
        out.append(cur.rstrip())
        return out
    for i, ch in enumerate(body):
        if ch in "([":
            close = {"(": ")", "[": "]"}[ch]
            depth, end = 0, None
            for j in range(i, len(body)):
                if body[j] in "([{":
                    depth += 1
                elif body[j] in ")]}":
                    depth -= 1
                    if depth == 0:
                        end = j
                        break
            if end is None or body[end] != close:
                continue
            inner = body[i + 1:end]
            items = split_top(inner)
            if len(items) < 2:
                continue
            out = [indent + body[: i + 1]]
            for item in items:
                out += wrap_line(indent + "    " + item + ",")
            if ch == "[":
                out[-1] = out[-1].rstrip(",")
            out.append(indent + body[end:])
            return out
    return [line]


def swift_string(s):
    return json.dumps(s, ensure_ascii=False)


class Generator:
    def __init__(self, model):
        self.model = model
        self.shapes = model["shapes"]
        self.files = {}

    def is_enum(self, name):
        s = self.shapes[name]
        return s["type"] == "string" and "enum" in s

    def swift_type(self, name):
        s = self.shapes[name]
        t = s["type"]
        if t == "structure":
            return "JSONValue" if s.get("document") else name
        if t == "string":
            return name if "enum" in s else "String"
        if t == "integer":
            return "Int"
        if t == "long":
            return "Int64"
        if t == "boolean":
            return "Bool"
        if t == "timestamp":
            return "Date"
        if t == "blob":
            return "Blob"
        if t == "list":
            return "[" + self.swift_type(s["member"]["shape"]) + "]"
        if t == "map":
            return "[String: " + self.swift_type(s["value"]["shape"]) + "]"
        if t in ("double", "float"):
            return "Double"
        raise SystemExit(f"unhandled shape type {t} for {name}")

    def placeholder(self, name):
        s = self.shapes[name]
        t = s["type"]
        if t == "structure":
            return ".null" if s.get("document") else f"{name}.placeholder"
        if t == "string":
            return ".unrecognized(\"\")" if "enum" in s else "\"\""
        return {"integer": "0", "long": "0", "boolean": "false", "timestamp": "Date(timeIntervalSince1970: 0)",
                "blob": "Blob([])", "list": "[]", "map": "[:]", "double": "0", "float": "0"}[t]

    # MARK: files

    def write(self, rel, text):
        lines = []
        for line in text.split("\n"):
            lines += wrap_line(line)
        header = "// Generated by scripts/generate-cognito-model.py from Cognito's service model. Do not edit.\n"
        if "Date" in text and not text.startswith("import Foundation"):
            header += "import Foundation\n\n"
        self.files[rel] = header + "\n".join(lines)

    def enum(self, name):
        s = self.shapes[name]
        values = s["enum"]
        cases = [(enum_case(v), v) for v in values]
        seen = set()
        for i, (c, v) in enumerate(cases):
            while bare(c) in seen:
                c = c + "_"
            seen.add(bare(c))
            cases[i] = (c, v)
        lines = [
            f"/// `{name}` in the service model: one of {len(values)} values, or a value outside the set (which",
            "/// validation refuses, in Cognito's words).",
            f"public enum {name}: Sendable, Hashable, Codable, CustomStringConvertible {{",
        ]
        for c, v in cases:
            lines.append(f"    case {c}")
        lines.append("    /// A value the model does not list (validation refuses it).")
        lines.append("    case unrecognized(String)")
        lines.append("")
        lines.append("    public static let known: [Self] = [" + ", ".join("." + c for c, _ in cases) + "]")
        lines.append("")
        lines.append("    public init(rawValue: String) {")
        lines.append("        switch rawValue {")
        for c, v in cases:
            lines.append(f"        case {swift_string(v)}: self = .{c}")
        lines.append("        default: self = .unrecognized(rawValue)")
        lines.append("        }")
        lines.append("    }")
        lines.append("")
        lines.append("    public var rawValue: String {")
        lines.append("        switch self {")
        for c, v in cases:
            lines.append(f"        case .{c}: {swift_string(v)}")
        lines.append("        case .unrecognized(let value): value")
        lines.append("        }")
        lines.append("    }")
        lines.append("")
        lines.append("    public var description: String { rawValue }")
        lines.append("    public var isKnown: Bool { if case .unrecognized = self { false } else { true } }")
        lines.append("")
        lines.append("    public init(from decoder: any Decoder) throws {")
        lines.append("        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))")
        lines.append("    }")
        lines.append("")
        lines.append("    public func encode(to encoder: any Encoder) throws {")
        lines.append("        var container = encoder.singleValueContainer()")
        lines.append("        try container.encode(rawValue)")
        lines.append("    }")
        lines.append("}")
        self.write(f"Enums/{name}.swift", "\n".join(lines) + "\n")

    def constraints(self, member_shape, value_expr, path_expr, optional, sensitive_member):
        """Swift statements that check `value_expr` against its shape's constraints."""
        s = self.shapes[member_shape]
        t = s["type"]
        out = []
        sensitive = "true" if (s.get("sensitive") or sensitive_member) else "false"
        checks = []
        if t == "string" and "enum" not in s:
            if "min" in s:
                checks.append(f"Validation.minLength(v, {s['min']}, at: {path_expr}, sensitive: {sensitive}, into: &failures)")
            if "max" in s:
                checks.append(f"Validation.maxLength(v, {s['max']}, at: {path_expr}, sensitive: {sensitive}, into: &failures)")
            if "pattern" in s:
                checks.append(
                    f"Validation.pattern(v, Patterns.{self.pattern_name(s['pattern'])}, at: {path_expr}, "
                    f"sensitive: {sensitive}, into: &failures)")
        elif t == "string":
            checks.append(f"Validation.enumValue(v, known: {member_shape}.known, at: {path_expr}, into: &failures)")
        elif t in ("integer", "long"):
            if "min" in s:
                checks.append(f"Validation.minValue(Int64(v), {s['min']}, at: {path_expr}, into: &failures)")
            if "max" in s:
                checks.append(f"Validation.maxValue(Int64(v), {s['max']}, at: {path_expr}, into: &failures)")
        elif t == "blob":
            if "max" in s:
                checks.append(f"Validation.maxLength(v.bytes.count, {s['max']}, at: {path_expr}, into: &failures)")
        elif t == "list":
            if "min" in s:
                checks.append(f"Validation.minCount(v.count, {s['min']}, at: {path_expr}, into: &failures)")
            if "max" in s:
                checks.append(f"Validation.maxCount(v.count, {s['max']}, at: {path_expr}, into: &failures)")
            inner = self.constraints(s["member"]["shape"], "element", f"{path_expr} + \".\" + String(i + 1) + \".member\"",
                                     False, False)
            if inner:
                checks.append("for (i, element) in v.enumerated() {")
                checks += ["    " + l for l in inner]
                checks.append("}")
        elif t == "map":
            if "min" in s:
                checks.append(f"Validation.minCount(v.count, {s['min']}, at: {path_expr}, into: &failures)")
            if "max" in s:
                checks.append(f"Validation.maxCount(v.count, {s['max']}, at: {path_expr}, into: &failures)")
            key_checks = self.constraints(s["key"]["shape"], "key", f"{path_expr}", False, False)
            value_checks = self.constraints(s["value"]["shape"], "value", f"{path_expr}", False, False)
            if key_checks or value_checks:
                checks.append("for (key, value) in v.sorted(by: { $0.key < $1.key }) {")
                checks += ["    " + l for l in key_checks + value_checks]
                if not key_checks:
                    checks.append("    _ = key")
                if not value_checks:
                    checks.append("    _ = value")
                checks.append("}")
        elif t == "structure" and not s.get("document"):
            checks.append(f"v.validate(at: {path_expr} + \".\", into: &failures)")
        if not checks:
            return []
        if optional:
            out.append(f"if let v = {value_expr} {{")
        else:
            out.append("do {")
            out.append(f"    let v = {value_expr}")
        out += ["    " + c for c in checks]
        out.append("}")
        return out

    patterns = {}

    def pattern_name(self, pattern):
        if pattern not in self.patterns:
            self.patterns[pattern] = f"p{len(self.patterns)}"
        return self.patterns[pattern]

    def structure(self, name):
        s = self.shapes[name]
        members = s.get("members", {})
        required = set(s.get("required", []))
        props = []
        for wire, m in members.items():
            prop = lower_camel(wire)
            typ = self.swift_type(m["shape"])
            req = wire in required
            props.append((wire, prop, typ, req, m))
        doc = re.sub(r"<[^>]+>", "", s.get("documentation", "")).strip().split(". ")[0][:110]
        lines = [f"/// {doc}" if doc else f"/// `{name}` in the service model.",
                 f"public struct {name}: CognitoShape {{"]
        for wire, prop, typ, req, m in props:
            lines.append(f"    public var {prop}: {typ}{'' if req else '?'}")
        lines.append("    /// Required members the request left out (each holds a placeholder); `validate` names them.")
        lines.append("    public var absent: Set<String> = []")
        lines.append("")
        # memberwise init
        if props:
            params = [f"{bare(p)}: {t}{'' if r else '? = nil'}" for _, p, t, r, _ in props]
            lines += wrapped("public init(", params, ") {", "    ")
            for _, p, _, _, _ in props:
                lines.append(f"        self.{bare(p)} = {p}")
            lines.append("    }")
        else:
            lines.append("    public init() {}")
        lines.append("")
        lines.append("    public static var placeholder: Self {")
        if props:
            args = [f"{bare(p)}: {self.placeholder(m['shape'])}" for _, p, _, r, m in props if r]
            lines += wrapped("Self(", args, ")", "        ")
        else:
            lines.append("        Self()")
        lines.append("    }")
        lines.append("")
        lines.append("    enum CodingKeys: String, CodingKey {")
        for wire, prop, _, _, _ in props:
            lines.append(f"        case {prop} = {swift_string(wire)}")
        if not props:
            lines.append("        case _none")
        lines.append("    }")
        lines.append("")
        lines.append("    public init(from decoder: any Decoder) throws {")
        if props:
            lines.append("        let c = try decoder.container(keyedBy: CodingKeys.self)")
            for wire, prop, typ, req, m in props:
                if req:
                    lines.append(f"        if let v = try c.decodeIfPresent({typ}.self, forKey: .{bare(prop)}) {{")
                    lines.append(f"            self.{bare(prop)} = v")
                    lines.append("        } else {")
                    lines.append(f"            self.{bare(prop)} = {self.placeholder(m['shape'])}")
                    lines.append(f"            absent.insert({swift_string(wire)})")
                    lines.append("        }")
                else:
                    lines.append(f"        self.{bare(prop)} = try c.decodeIfPresent({typ}.self, forKey: .{bare(prop)})")
        lines.append("    }")
        lines.append("")
        lines.append("    public func encode(to encoder: any Encoder) throws {")
        if props:
            lines.append("        var c = encoder.container(keyedBy: CodingKeys.self)")
            for wire, prop, typ, req, m in props:
                fn = "encode" if req else "encodeIfPresent"
                lines.append(f"        try c.{fn}(self.{bare(prop)}, forKey: .{bare(prop)})")
        else:
            # `{}`: an empty object, not nothing (JSONEncoder refuses a top level with no value).
            lines.append("        _ = encoder.container(keyedBy: CodingKeys.self)")
        lines.append("    }")
        lines.append("")
        lines.append("    public func validate(at path: String, into failures: inout [ValidationFailure]) {")
        body = []
        for wire, prop, typ, req, m in props:
            path = f"path + {swift_string(wire[:1].lower() + wire[1:])}"
            if req:
                body.append(f"if absent.contains({swift_string(wire)}) {{")
                body.append(f"    failures.append(ValidationFailure(path: {path}, value: nil, constraint: \"Member must not be null\"))")
                body.append("} else {")
                body += ["    " + l for l in self.constraints(m["shape"], f"self.{bare(prop)}", path, False, False)]
                body.append("}")
            else:
                body += self.constraints(m["shape"], f"self.{bare(prop)}", path, True, False)
        if not body:
            body = ["_ = path", "_ = failures"]
        lines += ["        " + l for l in body]
        lines.append("    }")
        lines.append("}")
        self.write(f"Shapes/{name}.swift", "\n".join(lines) + "\n")

    def operations(self):
        ops = self.model["operations"]
        lines = [
            "/// Every operation of the service model, by its wire name (`X-Amz-Target`), with its input",
            "/// and output shapes and whether Cognito takes it only with AWS credentials (SigV4).",
            "public enum CognitoOperation: String, CaseIterable, Sendable {",
        ]
        names = sorted(ops)
        for n in names:
            lines.append(f"    case {lower_camel(n)} = {swift_string(n)}")
        lines.append("")
        lines.append("    /// Operations Cognito serves without AWS credentials: a user's own calls, by token, session or code.")
        lines.append("    public var requiresSigV4: Bool {")
        lines.append("        switch self {")
        public = [n for n in names if ops[n].get("authtype") == "none" or ops[n].get("auth") == ["smithy.api#noAuth"]]
        lines.append("        case " + ", ".join("." + lower_camel(n) for n in public) + ": false")
        lines.append("        default: true")
        lines.append("        }")
        lines.append("    }")
        lines.append("")
        lines.append("    /// The input shape's type.")
        lines.append("    public var inputType: any CognitoShape.Type {")
        lines.append("        switch self {")
        for n in names:
            lines.append(f"        case .{bare(lower_camel(n))}: {ops[n]['input']['shape']}.self")
        lines.append("        }")
        lines.append("    }")
        lines.append("}")
        self.write("CognitoOperation.swift", "\n".join(lines) + "\n")
        # Typed descriptors, for registering handlers.
        lines = ["/// An operation's input and output types, for typed handlers (`Front`'s registry)."]
        for n in names:
            op = ops[n]
            output = op.get("output", {}).get("shape", "EmptyShape")
            lines.append(f"public enum {n}Operation: CognitoOperationType {{")
            lines.append(f"    public typealias Input = {op['input']['shape']}")
            lines.append(f"    public typealias Output = {output}")
            lines.append(f"    public static let operation = CognitoOperation.{bare(lower_camel(n))}")
            lines.append("}")
            lines.append("")
        self.write("OperationTypes.swift", "\n".join(lines))

    def exceptions(self):
        names = sorted(n for n, s in self.shapes.items() if s.get("exception"))
        lines = [
            "/// Every exception the service model names, as the `__type` on the wire.",
            "public enum CognitoException: String, CaseIterable, Sendable, Error {",
        ]
        for n in names:
            case = lower_camel(n[:-len("Exception")] if n.endswith("Exception") else n)
            lines.append(f"    case {case} = {swift_string(n)}")
        lines.append("")
        lines.append("    /// 500 for a fault of the service, 400 for the caller's.")
        lines.append("    public var httpStatus: Int {")
        lines.append("        switch self {")
        faults = [n for n in names if self.shapes[n].get("fault")]
        lines.append("        case " + ", ".join("." + lower_camel(n[:-len("Exception")]) for n in faults) + ": 500")
        lines.append("        default: 400")
        lines.append("        }")
        lines.append("    }")
        lines.append("}")
        self.write("CognitoException.swift", "\n".join(lines) + "\n")

    def pattern_file(self):
        lines = [
            "import Foundation",
            "",
            "/// The service model's patterns, compiled once. Java's ASCII-only \\\\w, \\\\s and \\\\d are",
            "/// spelled out, since ICU's are Unicode.",
            "enum Patterns {",
        ]
        def literal(text, indent):
            chunks = [text[i:i + 70] for i in range(0, len(text), 70)] or [""]
            out = [swift_string(chunks[0])]
            out += [indent + "+ " + swift_string(c) for c in chunks[1:]]
            return out

        for pattern, name in self.patterns.items():
            lines.append(f"    static let {name} = ModelPattern(")
            model = literal(pattern, "            ")
            icu = literal(java_to_icu(pattern), "            ")
            lines.append("        model: " + model[0])
            lines += model[1:]
            lines[-1] += ","
            lines.append("        icu: " + icu[0])
            lines += icu[1:]
            lines[-1] += ")"
        lines.append("}")
        self.write("Patterns.swift", "\n".join(lines) + "\n")

    def run(self):
        for name, s in sorted(self.shapes.items()):
            if s.get("exception"):
                continue
            if s["type"] == "string" and "enum" in s:
                self.enum(name)
            elif s["type"] == "structure" and not s.get("document"):
                self.structure(name)
        self.operations()
        self.exceptions()
        self.pattern_file()


def main():
    model, path = load_model(sys.argv[1] if len(sys.argv) > 1 else None)
    gen = Generator(model)
    gen.run()
    shutil.rmtree(OUT, ignore_errors=True)
    for rel, text in gen.files.items():
        full = os.path.join(OUT, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    # The project's layout (.swift-format), so the output passes `swift format lint` as written.
    subprocess.run(["swift", "format", "format", "-i", "-r", OUT], check=True, cwd=ROOT)
    with open(os.path.join(OUT, "MODEL_VERSION"), "w") as f:
        f.write(f"{os.path.basename(os.path.dirname(path))} from {os.path.relpath(path, ROOT)}\n")
    print(f"wrote {len(gen.files)} files to {os.path.relpath(OUT, ROOT)} from {path}")


if __name__ == "__main__":
    main()

/// Characters that end or split a line in some protocol Cognate speaks (SMTP commands and
/// headers, log lines, HTTP headers): C0 and C1 controls (NUL, CR, LF, NEL U+0085 …), DEL,
/// and the Unicode line and paragraph separators.
///
/// Checked on `unicodeScalars`, never on `Character`s: in Swift `"\r\n"` is one `Character`,
/// equal to neither `"\r"` nor `"\n"`, so a filter on those two lets the pair through.
public enum ControlCharacters {
    /// Whether `scalar` is one of them.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: true
        default: false
        }
    }

    /// Whether `text` holds any of them.
    public static func contains(_ text: some StringProtocol) -> Bool {
        text.unicodeScalars.contains(where: isControl)
    }

    /// `text` without them.
    public static func removed(from text: some StringProtocol) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: text.unicodeScalars.lazy.filter { !isControl($0) })
        return String(out)
    }
}

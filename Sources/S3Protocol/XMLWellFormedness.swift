/// Whether a request body is well-formed XML of the plain form S3 clients send, checked without an XML parser.
///
/// On Linux FoundationXML keeps (leaks) the message of every parse error it reports, about 277 bytes each, and traps
/// on an element name that is not UTF-8 (both found by the s3-xml fuzz target). XMLCoder therefore only ever sees
/// bodies this check accepts, and those parse without an error (the fuzz target asserts it). Accepted:
/// - UTF-8, an optional byte order mark and `<?xml version="1.0" [encoding="UTF-8"] [standalone="yes|no"]?>`;
/// - comments and white space around one root element;
/// - elements with ASCII names, no namespace prefix, and no attribute but declarations of S3's namespace
///   (`xmlns="http://s3.amazonaws.com/doc/2006-03-01/"`, or with a prefix), at most once each;
/// - text, CDATA sections, the five predefined entities and character references to XML characters.
///
/// Refused, as S3 bodies never need them: DOCTYPE and entity declarations, processing instructions, other
/// attributes or namespaces, nesting deeper than ``maxDepth``, names longer than ``maxName``.
public enum XMLWellFormedness {
    /// The namespace an S3 request body may declare.
    static let s3Namespace = Array("http://s3.amazonaws.com/doc/2006-03-01/".utf8)
    /// The deepest nesting accepted (S3's bodies have three levels).
    static let maxDepth = 32
    /// The longest element or attribute name accepted.
    static let maxName = 128

    /// True when `bytes` is a document of the form described above.
    public static func check(_ bytes: [UInt8]) -> Bool {
        guard String(validating: bytes, as: UTF8.self) != nil else { return false }
        var scanner = XMLScanner(bytes: bytes)
        return (try? scanner.document()) != nil
    }
}

/// A single pass over a document's bytes that throws at the first thing ``XMLWellFormedness`` does not accept.
struct XMLScanner {
    struct Refused: Error {}

    let bytes: [UInt8]
    var at = 0
    /// The names of the elements open at `at`, outermost first.
    var open: [ArraySlice<UInt8>] = []

    /// document ::= BOM? XMLDecl? Misc* element Misc*
    mutating func document() throws {
        if starts(with: [0xEF, 0xBB, 0xBF]) { at += 3 }
        if starts(with: "<?xml"), at + 5 < bytes.count, Self.isSpace(bytes[at + 5]) { try declaration() }
        try misc()
        try expect("<")
        try startTag()
        while !open.isEmpty { try content() }
        try misc()
        guard at == bytes.count else { throw Refused() }
    }

    /// `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`, the last two optional, in that order.
    mutating func declaration() throws {
        at += 5
        var fields: [(name: String, valid: ([UInt8]) -> Bool)] = [
            ("version", { $0 == Array("1.0".utf8) }),
            ("encoding", { String(decoding: $0, as: UTF8.self).lowercased() == "utf-8" }),
            ("standalone", { $0 == Array("yes".utf8) || $0 == Array("no".utf8) }),
        ]
        var first = true
        while true {
            let spaced = skipSpace()
            if starts(with: "?>") { at += 2; break }
            guard spaced, let index = fields.firstIndex(where: { starts(with: $0.name) }), !(first && index != 0) else {
                throw Refused()
            }
            at += fields[index].name.utf8.count
            try equals()
            guard fields[index].valid(Array(try quoted())) else { throw Refused() }
            fields.removeFirst(index + 1)
            first = false
        }
        guard !first else { throw Refused() }
    }

    /// Misc ::= (Comment | S)*
    mutating func misc() throws {
        while true {
            skipSpace()
            guard starts(with: "<!--") else { return }
            try comment()
        }
    }

    /// What follows the `<` of a start tag: a name, namespace declarations, then `>` or `/>`.
    mutating func startTag() throws {
        let name = try self.name()
        var declared: [ArraySlice<UInt8>] = []
        while true {
            let spaced = skipSpace()
            if starts(with: "/>") { at += 2; return }
            if starts(with: ">") {
                at += 1
                open.append(name)
                guard open.count <= XMLWellFormedness.maxDepth else { throw Refused() }
                return
            }
            guard spaced else { throw Refused() }
            let start = at
            guard try self.name() == ArraySlice("xmlns".utf8) else { throw Refused() }
            if starts(with: ":") {
                at += 1
                let prefix = try self.name()
                guard prefix != ArraySlice("xml".utf8), prefix != ArraySlice("xmlns".utf8) else { throw Refused() }
            }
            let attribute = bytes[start..<at]
            guard !declared.contains(attribute) else { throw Refused() }
            declared.append(attribute)
            try equals()
            guard Array(try quoted()) == XMLWellFormedness.s3Namespace else { throw Refused() }
        }
    }

    /// One piece of an open element's content: an end tag, a comment, a CDATA section, a child, a reference or text.
    mutating func content() throws {
        guard at < bytes.count else { throw Refused() }
        switch bytes[at] {
        case UInt8(ascii: "<"):
            if starts(with: "</") {
                at += 2
                guard let name = open.popLast(), try self.name() == name else { throw Refused() }
                skipSpace()
                try expect(">")
            } else if starts(with: "<!--") {
                try comment()
            } else if starts(with: "<![CDATA[") {
                at += 9
                try characters(until: "]]>")
            } else {
                at += 1
                try startTag()
            }
        case UInt8(ascii: "&"):
            try reference()
        default:
            guard !starts(with: "]]>") else { throw Refused() }
            try character()
        }
    }

    /// Comment ::= '<!--' ((Char - '-') | ('-' (Char - '-')))* '-->'
    mutating func comment() throws {
        at += 4
        while !starts(with: "--") {
            guard at < bytes.count else { throw Refused() }
            try character()
        }
        at += 2
        try expect(">")
    }

    /// XML characters up to and past `end`.
    mutating func characters(until end: String) throws {
        while !starts(with: end) {
            guard at < bytes.count else { throw Refused() }
            try character()
        }
        at += end.utf8.count
    }

    /// One byte of an XML character (the bytes are valid UTF-8): no control character but tab, line feed and
    /// carriage return, and neither U+FFFE nor U+FFFF.
    mutating func character() throws {
        let byte = bytes[at]
        guard byte >= 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D else { throw Refused() }
        if byte == 0xEF, at + 2 < bytes.count, bytes[at + 1] == 0xBF, bytes[at + 2] >= 0xBE { throw Refused() }
        at += 1
    }

    /// `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&#N;` or `&#xH;` naming an XML character.
    mutating func reference() throws {
        at += 1
        if starts(with: "#") {
            at += 1
            let hex = starts(with: "x")
            if hex { at += 1 }
            var value: UInt32 = 0
            var digits = 0
            while at < bytes.count, let digit = Self.digit(bytes[at], hex: hex) {
                value = value * (hex ? 16 : 10) + digit
                guard value <= 0x10FFFF else { throw Refused() }
                digits += 1
                at += 1
            }
            let valid = value == 0x9 || value == 0xA || value == 0xD || (0x20...0xD7FF).contains(value)
                || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
            guard digits > 0, valid else { throw Refused() }
        } else {
            let name = try self.name()
            guard ["amp", "lt", "gt", "quot", "apos"].contains(where: { name.elementsEqual($0.utf8) }) else {
                throw Refused()
            }
        }
        try expect(";")
    }

    /// An ASCII name: a letter or `_`, then letters, digits, `.`, `-` or `_`; no `:`.
    mutating func name() throws -> ArraySlice<UInt8> {
        let start = at
        guard at < bytes.count, Self.isNameStart(bytes[at]) else { throw Refused() }
        at += 1
        while at < bytes.count, Self.isNameStart(bytes[at]) || Self.isDigit(bytes[at]) || bytes[at] == 0x2E
            || bytes[at] == 0x2D { at += 1 }
        guard at - start <= XMLWellFormedness.maxName else { throw Refused() }
        return bytes[start..<at]
    }

    /// Eq ::= S? '=' S?
    mutating func equals() throws {
        skipSpace()
        try expect("=")
        skipSpace()
    }

    /// A value in double or single quotes, without `<` or `&`; returns what is between the quotes.
    mutating func quoted() throws -> ArraySlice<UInt8> {
        guard at < bytes.count, bytes[at] == 0x22 || bytes[at] == 0x27 else { throw Refused() }
        let quote = bytes[at]
        at += 1
        let start = at
        while at < bytes.count, bytes[at] != quote {
            guard bytes[at] != 0x3C, bytes[at] != 0x26 else { throw Refused() }
            try character()
        }
        guard at < bytes.count else { throw Refused() }
        at += 1
        return bytes[start..<at - 1]
    }

    @discardableResult
    mutating func skipSpace() -> Bool {
        let start = at
        while at < bytes.count, Self.isSpace(bytes[at]) { at += 1 }
        return at > start
    }

    mutating func expect(_ text: String) throws {
        guard starts(with: text) else { throw Refused() }
        at += text.utf8.count
    }

    func starts(with text: String) -> Bool { bytes[at...].starts(with: text.utf8) }

    func starts(with prefix: [UInt8]) -> Bool { bytes[at...].starts(with: prefix) }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
    static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    static func isNameStart(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F
    }

    static func digit(_ byte: UInt8, hex: Bool) -> UInt32? {
        if isDigit(byte) { return UInt32(byte - 0x30) }
        guard hex else { return nil }
        if (0x61...0x66).contains(byte) { return UInt32(byte - 0x61 + 10) }
        if (0x41...0x46).contains(byte) { return UInt32(byte - 0x41 + 10) }
        return nil
    }
}

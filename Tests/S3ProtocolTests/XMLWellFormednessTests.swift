import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import S3Protocol
import Testing

/// The strict check that stands before FoundationXML: what clients send passes, and parses without an error;
/// anything malformed is refused before an XML parser sees it.
struct XMLWellFormednessTests {
    static let ns = "http://s3.amazonaws.com/doc/2006-03-01/"

    /// Bodies of the forms botocore (ElementTree), aws-sdk-go v1/v2 and hand-written requests produce.
    static let accepted: [String] = [
        "<?xml version='1.0' encoding='utf-8'?>\n<Delete xmlns=\"\(ns)\"><Object><Key>a b/ünï 日本.txt</Key></Object>"
            + "<Quiet>true</Quiet></Delete>",
        "<CompleteMultipartUpload xmlns=\"\(ns)\"><Part><ETag>&#34;abc&#34;</ETag><PartNumber>1</PartNumber></Part>"
            + "</CompleteMultipartUpload>",
        "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?>\r\n<!-- a comment - with a dash -->"
            + "<Delete xmlns:s3='\(ns)' xmlns='\(ns)'>\n  <Object><Key><![CDATA[<a&b>]]>&#xD;&#x1F600;&amp;&lt;&gt;&quot;"
            + "&apos;]]</Key></Object >\n</Delete\t><!---->\n",
        "<Delete/>",
        "<a><b><c/></b></a>",
    ]

    static let refused: [String] = [
        "", " ", "<", "<Delete>", "<Delete></Object>", "<a></a><b/>", "<a/>x", "x<a/>",
        "<a>&foo;</a>", "<a>&amp</a>", "<a>&#;</a>", "<a>&#x;</a>", "<a>&#0;</a>", "<a>&#x1;</a>", "<a>&#xD800;</a>",
        "<a>&#xFFFE;</a>", "<a>&#x110000;</a>", "<a>&#99999999999999999999;</a>", "<a>&</a>",
        "<a>]]></a>", "<a><![CDATA[x</a>", "<a>\u{1}</a>", "<a>\u{FFFF}</a>", "<a>\u{0}</a>", "<a><</a>",
        "<!DOCTYPE a><a/>", "<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>", "<?pi x?><a/>", "<a><?pi x?></a>",
        "<a b='c'/>", "<a xmlns='http://example.com/'/>", "<a xmlns='\(ns)' xmlns='\(ns)'/>", "<s3:a xmlns:s3='\(ns)'/>",
        "<a xmlns:xml='\(ns)'/>", "<a xmlns='\(ns)'xmlns:b='\(ns)'/>", "<a xmlns=\"\(ns)'/>", "<a xmlns='&amp;'/>",
        "<a><!-- x -- y --></a>", "<a><!-- x ---></a>", "<a><!-- x </a>",
        " <?xml version='1.0'?><a/>", "<?xml version='1.1'?><a/>", "<?xml encoding='UTF-8' version='1.0'?><a/>",
        "<?xml version='1.0' encoding='ISO-8859-1'?><a/>", "<?xml?><a/>", "<?xml version='1.0' version='1.0'?><a/>",
        "<?xml version='1.0'encoding='UTF-8'?><a/>", "<?xml version='1.0'?><?xml version='1.0'?><a/>",
        "<1a/>", "<a-/>" + "<b/>", "<a></a >x", "<a></ a>", "< a/>", "<a / >",
        String(repeating: "<a>", count: 33) + String(repeating: "</a>", count: 33),
        "<" + String(repeating: "n", count: 129) + "/>",
    ]

    @Test func whatClientsSendIsAcceptedAndParsesWithoutAnError() {
        for text in Self.accepted {
            #expect(XMLWellFormedness.check(Array(text.utf8)), "refused: \(text)")
            #expect(Self.foundationParses(Array(text.utf8)), "FoundationXML refused: \(text)")
        }
        let deep = String(repeating: "<a>", count: 32) + String(repeating: "</a>", count: 32)
        #expect(XMLWellFormedness.check(Array(deep.utf8)))
        #expect(XMLWellFormedness.check(Array(("<" + String(repeating: "n", count: 128) + "/>").utf8)))
    }

    @Test func malformedBodiesAreRefused() {
        for text in Self.refused {
            #expect(!XMLWellFormedness.check(Array(text.utf8)), "accepted: \(text)")
        }
        #expect(!XMLWellFormedness.check([0x3C, 0x61, 0xFF, 0x2F, 0x3E]), "not UTF-8")
        #expect(!XMLWellFormedness.check(Array("<a>".utf8) + [0xC3] + Array("</a>".utf8)), "a truncated sequence")
    }

    @Test func decodedBodiesKeepTheirTextExactly() throws {
        let body = "<Delete xmlns=\"\(Self.ns)\"><Object><Key>a&amp;b&#xD;&#34;ü</Key></Object><Quiet>true</Quiet></Delete>"
        let request = try S3XML.deleteRequest(Array(body.utf8))
        #expect(request.keys == ["a&b\r\"ü"] && request.quiet)
        let pretty = "<?xml version='1.0'?>\n<Delete>\n  <Object>\n    <Key> a &amp; &amp; b </Key>\n  </Object>\n"
            + "  <Object><Key>&#x20;</Key></Object>\n  <Quiet>false</Quiet>\n</Delete>\n"
        let spaced = try S3XML.deleteRequest(Array(pretty.utf8))
        #expect(spaced.keys == [" a & & b ", " "] && !spaced.quiet, "\(spaced.keys)")
        // A key of literal white space only is a key, not layout between elements.
        let blank = try S3XML.deleteRequest(Array("<Delete><Object><Key> </Key></Object><Object><Key>\t\n</Key></Object></Delete>".utf8))
        #expect(blank.keys == [" ", "\t\n"], "\(blank.keys)")
        let parts = "<CompleteMultipartUpload>\n <Part>\n  <PartNumber>2</PartNumber>\n  <ETag>\"e\"</ETag>\n </Part>\n"
            + "</CompleteMultipartUpload>"
        #expect(try S3XML.completeRequest(Array(parts.utf8)).map(\.etag) == ["\"e\""])
        #expect(throws: S3Error.self) { try S3XML.deleteRequest(Array("<Delete><Object><Key>a</Key></Delete>".utf8)) }
    }

    static func foundationParses(_ bytes: [UInt8]) -> Bool {
        final class Errors: NSObject, XMLParserDelegate {
            var count = 0
            func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) { count += 1 }
        }
        let errors = Errors()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = errors
        return parser.parse() && errors.count == 0
    }
}

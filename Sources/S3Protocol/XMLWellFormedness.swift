import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Whether bytes are well-formed XML, stopping at the first error.
///
/// On Linux, FoundationXML's parser goes on after an error and keeps (leaks) the message of every error it reports:
/// a 2 MiB body of garbage cost megabytes per request (found by the s3-xml fuzz target). This pass aborts at the
/// first error, so XMLCoder only ever sees well-formed bodies.
enum XMLWellFormedness {
    static func check(_ bytes: [UInt8]) -> Bool {
        let parser = XMLParser(data: Data(bytes))
        let stopper = FirstErrorStopper()
        parser.delegate = stopper
        parser.shouldResolveExternalEntities = false
        let parsed = parser.parse()
        return parsed && !stopper.failed
    }
}

/// Aborts the parse at its first error.
private final class FirstErrorStopper: NSObject, XMLParserDelegate {
    var failed = false

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        failed = true
        parser.abortParsing()
    }

    func parser(_ parser: XMLParser, validationErrorOccurred validationError: any Error) {
        failed = true
        parser.abortParsing()
    }
}

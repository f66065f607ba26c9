/// The rclone remote for the gateway, as `storacha rclone config` writes it, `serve s3` prints it and
/// `bench s3` uses it: one text, so that what users paste is what the tests and the benchmark run.
enum RcloneRemote {
    /// The `[name]` section for the gateway at `url` (ends with a blank line).
    ///
    /// `provider = Other` works with every rclone from 1.60 on (path-style URLs, V1 listings). `no_head = true`
    /// saves the HEAD rclone otherwise sends after every PUT: the gateway answers a PUT only once the object is
    /// stored as sent (body verified, fsynced, recorded), and rclone still checks the MD5 in the PUT's ETag.
    /// `disable_checksum = true` spares rclone reading a large file whole for its MD5 before the first part of a
    /// multipart upload (one core idle meanwhile): each part still carries its Content-MD5 and signed SHA-256, which
    /// the gateway checks, and the gateway computes the whole object's MD5 from what it stored and serves it as the
    /// `md5chksum` metadata rclone reads for `md5sum` and `check`.
    static func section(_ name: String, url: String, accessKey: String, secretKey: String) -> String {
        """
        [\(name)]
        type = s3
        provider = Other
        access_key_id = \(accessKey)
        secret_access_key = \(secretKey)
        endpoint = \(url)
        no_head = true
        disable_checksum = true


        """
    }
}

import Foundation
import Testing
import TestSupport

/// Several users on one gateway (`serve s3 --users FILE`): each sees and touches only their own buckets.
@Suite(.serialized) struct UsersTests {
    /// Adds a user with `storacha s3 user add` and returns their keys.
    static func addUser(_ name: String, write: String, file: URL, home: URL) async throws -> (access: String, secret: String) {
        let r = try await StorachaBinary.run(["s3", "user", "add", name, "--write", write, "--users", file.path], in: home,
                                             environment: ["HOME": home.path])
        #expect(r.status == 0, "\(r.stderr)")
        func value(_ label: String) -> String {
            r.stdout.split(separator: "\n").first { $0.contains(label) }.map { String($0.split(separator: " ").last ?? "") } ?? ""
        }
        return (value("access key"), value("secret key"))
    }

    @Test(.enabled(if: pythonClients && !rclones.isEmpty, "needs boto3, awscli and rclone (.ci/run installs them)"))
    func usersSeeOnlyTheirOwnBuckets() async throws {
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let file = home.appendingPathComponent("users.json")
        let alice = try await UsersTests.addUser("alice", write: "alice-*", file: file, home: home)
        let bob = try await UsersTests.addUser("bob", write: "bob-*", file: file, home: home)
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let listed = try await StorachaBinary.run(["s3", "user", "ls", "--users", file.path], in: home, environment: ["HOME": home.path])
        #expect(listed.stdout.contains("alice  \(alice.access)") && !listed.stdout.contains(alice.secret), "\(listed.stdout)")

        // A users file others may read is refused, with what to do.
        let open = home.appendingPathComponent("open.json")
        try FileManager.default.copyItem(at: file, to: open)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: open.path)
        let refused = try await StorachaBinary.run(["serve", "s3", "--local", "--listen", "127.0.0.1:0", "--users", open.path], in: home,
                                                   environment: ["HOME": home.path])
        #expect(refused.status != 0 && refused.stderr.contains("chmod 600"), "\(refused.stderr)")

        let gateway = try await GatewayProcess.start(home: home, arguments: ["--users", file.path])
        defer { gateway.stop() }
        let script = home.appendingPathComponent("users.py")
        try Data(UsersTests.script.utf8).write(to: script)
        let env = ProcessInfo.processInfo.environment
        let result = try await StorachaBinary.run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path], in: home,
                                                  environment: [
            "AWS_CA_BUNDLE": nil, "HOME": home.path, "AWS_DEFAULT_REGION": "us-east-1", "ENDPOINT": gateway.url,
            "ALICE": "\(alice.access):\(alice.secret)", "BOB": "\(bob.access):\(bob.secret)",
            "PYTHONPATH": [pythonPackages, env["PYTHONPATH"]].compactMap { $0 }.joined(separator: ":"),
        ])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.hasSuffix("all good\n"), "\(result.stdout)")

        // rclone as each user lists only their buckets.
        let config = home.appendingPathComponent("rclone.conf")
        try Data("""
            [alice]
            type = s3
            provider = Other
            access_key_id = \(alice.access)
            secret_access_key = \(alice.secret)
            endpoint = \(gateway.url)

            [bob]
            type = s3
            provider = Other
            access_key_id = \(bob.access)
            secret_access_key = \(bob.secret)
            endpoint = \(gateway.url)

            """.utf8).write(to: config)
        for rclone in rclones {
            func rc(_ args: [String]) async throws -> StorachaBinary.Result {
                try await StorachaBinary.run(executable: rclone, ["--config", config.path] + args, in: home,
                                             environment: ["AWS_CA_BUNDLE": nil, "HOME": home.path])
            }
            let aliceSees = try await rc(["lsd", "alice:"]).stdout
            let bobSees = try await rc(["lsd", "bob:"]).stdout
            #expect(aliceSees.contains("alice-photos") && !aliceSees.contains("bob-docs"), "\(aliceSees)")
            #expect(bobSees.contains("bob-docs") && !bobSees.contains("alice-photos"), "\(bobSees)")
            let peek = try await rc(["cat", "bob:alice-photos/x.txt"])
            #expect(peek.status != 0 && peek.stdout.isEmpty, "\(peek.stdout)")
            let intrude = try await rc(["copyto", script.path, "bob:alice-photos/intruder.py"])
            #expect(intrude.status != 0)
            #expect(!(try await rc(["lsf", "alice:alice-photos"])).stdout.contains("intruder"))
        }

        // Removing a user revokes their keys on the running gateway.
        let removed = try await StorachaBinary.run(["s3", "user", "rm", "bob", "--users", file.path], in: home, environment: ["HOME": home.path])
        #expect(removed.status == 0, "\(removed.stderr)")
        try await Task.sleep(for: .milliseconds(1500))
        let rclone = rclones[0]
        let gone = try await StorachaBinary.run(executable: rclone, ["--config", config.path, "lsd", "bob:"], in: home,
                                                environment: ["AWS_CA_BUNDLE": nil, "HOME": home.path])
        #expect(gone.status != 0, "\(gone.stdout)")
    }

    static let script = #"""
    import os, subprocess, sys
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    endpoint = os.environ["ENDPOINT"]
    def client(who):
        key, secret = os.environ[who].split(":")
        return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key, aws_secret_access_key=secret,
                            config=Config(signature_version="s3v4"))
    a, b = client("ALICE"), client("BOB")

    def code(call):
        try:
            call()
        except ClientError as e:
            return e.response["Error"]["Code"]
        return None

    a.create_bucket(Bucket="alice-photos")
    b.create_bucket(Bucket="bob-docs")
    a.put_object(Bucket="alice-photos", Key="x.txt", Body=b"alice's")
    b.put_object(Bucket="bob-docs", Key="y.txt", Body=b"bob's")
    assert [x["Name"] for x in a.list_buckets()["Buckets"]] == ["alice-photos"]
    assert [x["Name"] for x in b.list_buckets()["Buckets"]] == ["bob-docs"]

    upload = a.create_multipart_upload(Bucket="alice-photos", Key="parts.bin")["UploadId"]
    attempts = {
        "list": lambda: b.list_objects_v2(Bucket="alice-photos"),
        "list v1": lambda: b.list_objects(Bucket="alice-photos"),
        "get": lambda: b.get_object(Bucket="alice-photos", Key="x.txt"),
        "put": lambda: b.put_object(Bucket="alice-photos", Key="x.txt", Body=b"bob was here"),
        "delete": lambda: b.delete_object(Bucket="alice-photos", Key="x.txt"),
        "copy from": lambda: b.copy_object(Bucket="bob-docs", Key="stolen.txt", CopySource={"Bucket": "alice-photos", "Key": "x.txt"}),
        "copy into": lambda: b.copy_object(Bucket="alice-photos", Key="planted.txt", CopySource={"Bucket": "bob-docs", "Key": "y.txt"}),
        "multipart into": lambda: b.create_multipart_upload(Bucket="alice-photos", Key="m.bin"),
        "part into": lambda: b.upload_part(Bucket="alice-photos", Key="parts.bin", UploadId=upload, PartNumber=1, Body=b"x" * 10),
        "list uploads": lambda: b.list_multipart_uploads(Bucket="alice-photos"),
        "abort": lambda: b.abort_multipart_upload(Bucket="alice-photos", Key="parts.bin", UploadId=upload),
        "create in the other's space": lambda: b.create_bucket(Bucket="alice-new"),
        "delete bucket": lambda: b.delete_bucket(Bucket="alice-photos"),
        "location": lambda: b.get_bucket_location(Bucket="alice-photos"),
    }
    for name, attempt in attempts.items():
        got = code(attempt)
        assert got == "AccessDenied", (name, got)
    # DeleteObjects answers per key, as S3 does.
    many = b.delete_objects(Bucket="alice-photos", Delete={"Objects": [{"Key": "x.txt"}]})
    assert not many.get("Deleted") and [e["Code"] for e in many.get("Errors", [])] == ["AccessDenied"], many
    # HEAD carries no body: the status says it.
    assert code(lambda: b.head_object(Bucket="alice-photos", Key="x.txt")) == "403"
    assert code(lambda: b.head_bucket(Bucket="alice-photos")) == "403"
    # Nothing changed.
    assert a.get_object(Bucket="alice-photos", Key="x.txt")["Body"].read() == b"alice's"
    assert [o["Key"] for o in a.list_objects_v2(Bucket="alice-photos").get("Contents", [])] == ["x.txt"]
    assert [o["Key"] for o in b.list_objects_v2(Bucket="bob-docs").get("Contents", [])] == ["y.txt"]
    assert [u["UploadId"] for u in a.list_multipart_uploads(Bucket="alice-photos").get("Uploads", [])] == [upload]
    assert "alice-new" not in [x["Name"] for x in a.list_buckets()["Buckets"]]

    # The aws CLI as each user.
    def aws(who, *args):
        key, secret = os.environ[who].split(":")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret)
        return subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", endpoint, *args], capture_output=True, text=True, env=env)
    mine = aws("BOB", "s3", "ls")
    assert mine.returncode == 0 and "bob-docs" in mine.stdout and "alice-photos" not in mine.stdout, mine
    theirs = aws("BOB", "s3", "cp", "s3://alice-photos/x.txt", "-")
    assert theirs.returncode != 0 and ("AccessDenied" in theirs.stderr or "403" in theirs.stderr), theirs
    wipe = aws("BOB", "s3", "rm", "s3://alice-photos/x.txt")
    assert wipe.returncode != 0, wipe
    assert a.get_object(Bucket="alice-photos", Key="x.txt")["Body"].read() == b"alice's"
    print("all good")
    """#
}

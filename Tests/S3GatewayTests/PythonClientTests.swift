import Foundation
import Testing
import TestSupport

/// Where `.ci/run` installs the aws CLI and boto3 (`pip install --target`), put on PYTHONPATH for the tests.
let pythonPackages: String = {
    let env = ProcessInfo.processInfo.environment
    return env["STORACHA_PYTHONPATH"] ?? "\(env["HOME"] ?? NSHomeDirectory())/.cache/storacha-ci/python"
}()

/// Whether `python3` can import boto3 and the aws CLI with that path.
let pythonClients: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import boto3, awscli"]
    var env = ProcessInfo.processInfo.environment
    env["PYTHONPATH"] = [pythonPackages, env["PYTHONPATH"]].compactMap { $0 }.joined(separator: ":")
    process.environment = env
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

@Suite(.serialized) struct PythonClientTests {
    /// The aws CLI (`s3 mb/cp/ls/sync/rm`, `s3api` multipart) and boto3 (V2 listing with `encoding-type=url`,
    /// DeleteObjects, presigned GET and PUT) through the gateway, and what must be refused.
    @Test(.enabled(if: pythonClients, "needs boto3 and awscli (.ci/run installs them)"))
    func awsCLIAndBoto3() async throws {
        let home = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: home) }
        let gateway = try await GatewayProcess.start(home: home)
        defer { gateway.stop() }
        let script = home.appendingPathComponent("clients.py")
        try Data(PythonClientTests.script.utf8).write(to: script)
        let env = ProcessInfo.processInfo.environment
        let result = try await StorachaBinary.run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path], in: home, environment: [
            "AWS_CA_BUNDLE": nil, "HOME": home.path, "AWS_ACCESS_KEY_ID": gateway.accessKey, "AWS_SECRET_ACCESS_KEY": gateway.secretKey,
            "AWS_DEFAULT_REGION": "us-east-1", "ENDPOINT": gateway.url,
            "PYTHONPATH": [pythonPackages, env["PYTHONPATH"]].compactMap { $0 }.joined(separator: ":"),
        ])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.hasSuffix("all good\n"), "\(result.stdout)")
    }

    static let script = #"""
    import hashlib, os, subprocess, sys, tempfile, urllib.error, urllib.request
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    endpoint = os.environ["ENDPOINT"]
    s3 = boto3.client("s3", endpoint_url=endpoint, config=Config(signature_version="s3v4"))

    def aws(*args):
        out = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", endpoint, *args],
                             capture_output=True, text=True)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        return out.stdout

    def code(call):
        try:
            call()
        except ClientError as e:
            return e.response["Error"]["Code"]
        return None

    # The aws CLI: a bucket, a tree, a listing, a sync that sends nothing new, a large multipart copy, removal.
    tree = tempfile.mkdtemp()
    os.makedirs(os.path.join(tree, "sub dir"))
    for name, data in {"a.txt": b"alpha", "sub dir/ü.txt": "über".encode(), "empty": b""}.items():
        open(os.path.join(tree, name), "wb").write(data)
    aws("s3", "mb", "s3://cli")
    aws("s3", "cp", tree, "s3://cli/tree", "--recursive")
    listing = aws("s3", "ls", "s3://cli", "--recursive")
    assert "tree/sub dir/ü.txt" in listing and "tree/empty" in listing, listing
    aws("s3", "sync", tree, "s3://cli/tree")
    big = os.path.join(tree, "big.bin")
    open(big, "wb").write(os.urandom(20 * 1024 * 1024))
    aws("s3", "cp", big, "s3://cli/big.bin")
    head = s3.head_object(Bucket="cli", Key="big.bin")
    assert head["ContentLength"] == 20 * 1024 * 1024 and head["ETag"].endswith('-3"'), head
    back = os.path.join(tree, "back.bin")
    aws("s3", "cp", "s3://cli/big.bin", back)
    assert open(back, "rb").read() == open(big, "rb").read()
    aws("s3", "rm", "s3://cli/tree", "--recursive")

    # s3api multipart, step by step.
    up = s3.create_multipart_upload(Bucket="cli", Key="parts.bin", Metadata={"purpose": "test"})["UploadId"]
    chunks = [os.urandom(5 * 1024 * 1024), b"tail"]
    etags = [s3.upload_part(Bucket="cli", Key="parts.bin", UploadId=up, PartNumber=i + 1, Body=c)["ETag"] for i, c in enumerate(chunks)]
    assert [p["PartNumber"] for p in s3.list_parts(Bucket="cli", Key="parts.bin", UploadId=up)["Parts"]] == [1, 2]
    assert code(lambda: s3.complete_multipart_upload(Bucket="cli", Key="parts.bin", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]})) == "InvalidPartOrder"
    assert code(lambda: s3.complete_multipart_upload(Bucket="cli", Key="parts.bin", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})) == "InvalidPart"
    done = s3.complete_multipart_upload(Bucket="cli", Key="parts.bin", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
    expected = hashlib.md5(b"".join(hashlib.md5(c).digest() for c in chunks)).hexdigest() + "-2"
    assert done["ETag"] == '"%s"' % expected, done
    got = s3.get_object(Bucket="cli", Key="parts.bin")
    assert got["Body"].read() == b"".join(chunks) and got["Metadata"] == {"purpose": "test"}
    aborted = s3.create_multipart_upload(Bucket="cli", Key="gone.bin")["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="cli").get("Uploads", [])] == [aborted]
    s3.abort_multipart_upload(Bucket="cli", Key="gone.bin", UploadId=aborted)
    assert code(lambda: s3.list_parts(Bucket="cli", Key="gone.bin", UploadId=aborted)) == "NoSuchUpload"

    # boto3: V2 listing with url encoding and pages, ranges, DeleteObjects, presigned URLs.
    keys = ["odd/plus+and space%.txt", "odd/ctrl\r\nline.txt", "odd/日本.txt", "odd/a", "odd/b"]
    for k in keys:
        s3.put_object(Bucket="cli", Key=k, Body=k.encode())
    seen = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="cli", Prefix="odd/", PaginationConfig={"PageSize": 2})
            for o in page.get("Contents", [])]
    assert sorted(seen, key=lambda k: k.encode()) == sorted(keys, key=lambda k: k.encode()) and len(seen) == len(keys), seen
    folders = s3.list_objects_v2(Bucket="cli", Delimiter="/")
    assert [p["Prefix"] for p in folders.get("CommonPrefixes", [])] == ["odd/"], folders
    assert s3.get_object(Bucket="cli", Key="odd/a", Range="bytes=1-2")["Body"].read() == b"dd"
    deleted = s3.delete_objects(Bucket="cli", Delete={"Objects": [{"Key": "odd/a"}, {"Key": "odd/b"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["odd/a", "odd/b"]
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "cli", "Key": keys[0]}, ExpiresIn=60)
    assert urllib.request.urlopen(url).read() == keys[0].encode()
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "cli", "Key": "viaurl.txt"}, ExpiresIn=60)
    urllib.request.urlopen(urllib.request.Request(put, data=b"from a url", method="PUT"))
    assert s3.get_object(Bucket="cli", Key="viaurl.txt")["Body"].read() == b"from a url"

    # Refused, and nothing changed: a missing key is 404, a wrong secret, an expired URL, a tampered URL, no signature.
    assert code(lambda: s3.head_object(Bucket="cli", Key="missing")) == "404"
    wrong = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key="wrong",
                         config=Config(signature_version="s3v4"))
    assert code(lambda: wrong.put_object(Bucket="cli", Key="intruder", Body=b"x")) == "SignatureDoesNotMatch"
    expired = s3.generate_presigned_url("get_object", Params={"Bucket": "cli", "Key": "viaurl.txt"}, ExpiresIn=1)
    import time; time.sleep(2)
    for bad in [expired, url.replace("odd/", "odd/x"), endpoint + "/cli/viaurl.txt"]:
        try:
            urllib.request.urlopen(bad)
            raise AssertionError("accepted " + bad)
        except urllib.error.HTTPError as e:
            assert e.code == 403, (bad, e.code)
    got = code(lambda: s3.put_object(Bucket="cli", Key="a/../escape", Body=b"x"))
    assert got == "InvalidArgument", got
    got = code(lambda: s3.put_object(Bucket="cli", Key="meta", Body=b"x", Metadata={"big": "v" * 3000}))
    assert got == "MetadataTooLarge", got
    assert "intruder" not in [o["Key"] for o in s3.list_objects_v2(Bucket="cli").get("Contents", [])]

    # Over raw HTTP, signed by botocore: an aws-chunked body is stored when its chunk signatures are right and
    # refused when one is wrong; malformed XML in DeleteObjects and CompleteMultipartUpload is refused.
    import hmac, urllib.parse
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    def raw(method, path, body, headers, chunks=None, forge=False):
        if chunks is None:
            headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        req = AWSRequest(method=method, url=endpoint + path, data=body, headers=headers)
        SigV4Auth(Credentials(os.environ["AWS_ACCESS_KEY_ID"], secret), "s3", "us-east-1").add_auth(req)
        if chunks is not None:
            amz_date, auth = req.headers["X-Amz-Date"], req.headers["Authorization"]
            scope = auth.split("Credential=")[1].split(",")[0].split("/", 1)[1]
            key = ("AWS4" + secret).encode()
            for part in scope.split("/"):
                key = hmac.new(key, part.encode(), hashlib.sha256).digest()
            previous, body = auth.split("Signature=")[1], b""
            for chunk in chunks + [b""]:
                text = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, hashlib.sha256(b"").hexdigest(),
                                  hashlib.sha256(chunk).hexdigest()])
                previous = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
                signature = ("0" * 64) if forge and chunk else previous
                body += b"%x;chunk-signature=%s\r\n%s\r\n" % (len(chunk), signature.encode(), chunk)
            req.headers["Content-Length"] = str(len(body))
        out = urllib.request.Request(req.url, data=body, method=method, headers=dict(req.headers.items()))
        try:
            with urllib.request.urlopen(out) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
    streaming = {"X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "Content-Encoding": "aws-chunked",
                 "X-Amz-Decoded-Content-Length": "11"}
    status, text = raw("PUT", "/cli/chunked.txt", b"", dict(streaming), chunks=[b"hello ", b"world"])
    assert status == 200, (status, text)
    assert s3.get_object(Bucket="cli", Key="chunked.txt")["Body"].read() == b"hello world"
    status, text = raw("PUT", "/cli/forged.txt", b"", dict(streaming), chunks=[b"hello ", b"world"], forge=True)
    assert status == 403 and "SignatureDoesNotMatch" in text, (status, text)
    assert code(lambda: s3.head_object(Bucket="cli", Key="forged.txt")) == "404"
    before = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="cli").get("Contents", []))
    junk = b"<Delete><Object><Key>odd/" + keys[0].encode()
    status, text = raw("POST", "/cli?delete", junk, {"Content-Length": str(len(junk)), "Content-MD5":
                       __import__("base64").b64encode(hashlib.md5(junk).digest()).decode()})
    assert status == 400 and "MalformedXML" in text, (status, text)
    pending = s3.create_multipart_upload(Bucket="cli", Key="malformed.bin")["UploadId"]
    s3.upload_part(Bucket="cli", Key="malformed.bin", UploadId=pending, PartNumber=1, Body=b"part")
    junk = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"
    status, text = raw("POST", "/cli/malformed.bin?uploadId=" + urllib.parse.quote(pending, safe=""), junk,
                       {"Content-Length": str(len(junk))})
    assert status == 400 and "MalformedXML" in text, (status, text)
    assert code(lambda: s3.head_object(Bucket="cli", Key="malformed.bin")) == "404"
    assert [p["PartNumber"] for p in s3.list_parts(Bucket="cli", Key="malformed.bin", UploadId=pending)["Parts"]] == [1]
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket="cli").get("Contents", [])) == before
    print("all good")
    """#
}

from pathlib import Path


def start_server(kms, cipher_path):
    context = {"purpose": "tls-private-key", "host": "localhost"}
    key_pem = kms.decrypt(Path(cipher_path).read_text(), context).plaintext.encode()
    with helpers.tls.serve_https("certs/server.crt", key_pem) as url:
        status, _ = helpers.tls.fetch(url, "certs/ca.crt")
    return status


print(start_server(kms, "work/key.pem.cipher"))

# Test only: gives every client of a dynsec export the password `secret` (the broker under test checks
# passwords, where production clients use certificates), enables revoked clients (the plugin does not
# enforce `disabled` for certificate identities, so rights must be absent anyway), and adds a writer.
import base64, hashlib, json, os, sys
path, password, writer = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
config = json.load(open(path))
def secret():
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password, salt, 101)
    return {"password": base64.b64encode(digest).decode(), "salt": base64.b64encode(salt).decode(), "iterations": 101}
for client in config["clients"]:
    client.update(secret())
    client["disabled"] = False
config["clients"].append(dict(username=writer, roles=[{"rolename": "test-writer"}], **secret()))
config["roles"].append({"rolename": "test-writer", "acls": [
    {"acltype": "publishClientSend", "topic": "#", "priority": 0, "allow": True}]})
json.dump(config, open(path, "w"), indent=1)

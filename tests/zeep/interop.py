"""The mock registries through a SOAP client no one here wrote: Python's zeep (tests/zeep.rs runs this).

Usage: python3 interop.py CONFIG.json   (CONFIG: endpoints by registry, the admin URL, the PEM files of
the registry-side CA and the client certificate, a file of sample people from the mock's own
population, `reggate mock --export-people` shaped, and the repository's `wsdl/` directory.)

Every registry's WSDL is loaded from `?wsdl` over HTTPS with the client certificate (mTLS), and from
the repository's `wsdl/` as a file (its address: the mock's default one; one call goes through it,
bound to the running mock's address); a token
comes from the token endpoint; every operation of every registry is called with real people of the
population (found answers), then with people the registries do not know (NotFound and its
`checkedAt`), then so as to get faults (a schema-invalid request, an unknown token, and a server
fault and an expired token injected through the mock's admin endpoint), whose detail
(`cmn:RegistryFault`) is read with zeep's own types. Prints one JSON summary on stdout, which the
Rust test asserts on. Nothing personal is printed: the summary holds counts, codes and timestamps,
and any unexpected error is reported with digits and Cyrillic words masked.
"""

import collections
import datetime
import json
import re
import sys
import uuid

import requests
import zeep
from zeep.exceptions import Fault
from zeep.plugins import Plugin
from zeep.transports import Transport

CMN = "urn://reggate/common/types/1.0.0"


def mask(text):
    """Digits and Cyrillic words masked: an error message may quote a SNILS or a name."""
    return re.sub(r"[А-Яа-яЁё]+", "…", re.sub(r"\d", "#", str(text)))


class Sent(Plugin):
    """Counts every envelope zeep puts on the wire, by operation."""

    def __init__(self):
        self.by_operation = collections.Counter()

    def egress(self, envelope, http_headers, operation, binding_options):
        self.by_operation[operation.name] += 1
        return envelope, http_headers


class Interop:
    def __init__(self, config):
        self.config = config
        self.session = requests.Session()
        # The environment's CA bundle (REQUESTS_CA_BUNDLE) and proxies would override the
        # session's: only the development PKI and loopback count here.
        self.session.trust_env = False
        self.session.verify = config["ca"]
        self.session.cert = (config["cert"], config["key"])
        self.statuses = []
        self.session.hooks["response"].append(lambda r, *a, **k: self.statuses.append(r.status_code))
        self.admin = requests.Session()
        self.admin.trust_env = False
        self.sent = Sent()
        transport = Transport(session=self.session, timeout=30, operation_timeout=30)
        self.clients = {}
        self.file_clients = {}
        self.wsdl = {}
        for registry, url in sorted(config["endpoints"].items()):
            client = zeep.Client(f"{url}?wsdl", transport=transport, plugins=[self.sent])
            operations = sorted(
                name
                for service in client.wsdl.services.values()
                for port in service.ports.values()
                for name in port.binding._operations
            )
            self.wsdl[registry] = {
                "address": client.service._binding_options["address"],
                "operations": operations,
                "declares_registry_fault": client.get_element(f"{{{CMN}}}RegistryFault") is not None,
            }
            self.clients[registry] = client
        # The repository's copies, loaded from disk as a tester's tool would: their address is the
        # mock's default one, and a service bound to the running mock's address answers.
        self.files = {}
        for registry, url in sorted(config["endpoints"].items()):
            client = zeep.Client(f"{config['wsdl_dir']}/{registry}.wsdl", transport=transport, plugins=[self.sent])
            self.files[registry] = {"address": client.service._binding_options["address"]}
            self.file_clients[registry] = (client, url)
        self.answered = collections.Counter()
        self.outcomes = collections.defaultdict(collections.Counter)
        self.not_found = []
        self.faults = []
        self.errors = []
        self.tokens = 0

    # -- plumbing ------------------------------------------------------------------------------

    def token(self):
        """A token from the first registry's token endpoint (good at every registry)."""
        url = self.config["endpoints"]["snils"].rsplit("/registry/", 1)[0] + "/token"
        r = self.session.post(url, data={"grant_type": "client_credentials"}, timeout=30)
        r.raise_for_status()
        body = r.json()
        assert body["token_type"] == "Bearer", body
        self.tokens += 1
        self.session.headers["Authorization"] = f"Bearer {body['access_token']}"

    @staticmethod
    def metadata():
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        return {"MessageId": str(uuid.uuid4()), "Timestamp": now}

    def call(self, registry, operation, **kwargs):
        """One call answered with a result: the response object, or None after recording an error."""
        try:
            result = getattr(self.clients[registry].service, operation)(Metadata=self.metadata(), **kwargs)
        except Exception as e:  # noqa: BLE001 - every failure is reported, masked
            self.errors.append({"operation": operation, "error": type(e).__name__, "message": mask(e)})
            return None
        self.answered[operation] += 1
        return result

    def outcome(self, operation, what):
        self.outcomes[operation][what] += 1

    def expect_fault(self, case, registry, operation, **kwargs):
        """A call that must fail with a SOAP Fault; its code and detail are recorded."""
        try:
            getattr(self.clients[registry].service, operation)(Metadata=self.metadata(), **kwargs)
        except Fault as f:
            self.faults.append(
                {
                    "case": case,
                    "operation": operation,
                    "http_status": self.statuses[-1] if self.statuses else None,
                    "code": f.code,
                    "message": f.message,
                    "detail": self.registry_fault(registry, f.detail),
                }
            )
            return
        except Exception as e:  # noqa: BLE001
            self.errors.append({"operation": operation, "case": case, "error": type(e).__name__, "message": mask(e)})
            return
        self.errors.append({"operation": operation, "case": case, "error": "no fault"})

    def registry_fault(self, registry, detail):
        """`detail/cmn:RegistryFault` read with the WSDL's own type (None if absent)."""
        if detail is None:
            return None
        node = detail.find(f"{{{CMN}}}RegistryFault")
        if node is None:
            return None
        element = self.clients[registry].get_element(f"{{{CMN}}}RegistryFault")
        value = element.parse(node, self.clients[registry].wsdl.types)
        # An absent `retryable` is its schema default, which zeep hands over as written ("false").
        retryable = value.retryable
        if isinstance(retryable, str):
            retryable = retryable.strip() in ("true", "1")
        return {
            "code": value.Code,
            "message": value.Message,
            "retryable": retryable,
        }

    def admin_faults(self, registry, rules):
        r = self.admin.put(f"{self.config['admin']}/admin/faults/{registry}", json=rules, timeout=10)
        r.raise_for_status()

    def found_not(self, operation, node):
        if node is None:
            self.errors.append({"operation": operation, "error": "no NotFound"})
            return
        checked = node.checkedAt
        self.not_found.append(
            {"operation": operation, "checkedAt": checked.isoformat() if checked is not None else None}
        )
        self.outcome(operation, "NotFound")

    # -- what a person looks like on the wire --------------------------------------------------

    @staticmethod
    def identity(p):
        out = {"LastName": p["last_name"], "FirstName": p["first_name"]}
        if p.get("middle_name"):
            out["MiddleName"] = p["middle_name"]
        out["BirthDate"] = p["birth_date"]
        out["Gender"] = p["gender"].capitalize()
        return out

    @staticmethod
    def passport(p):
        pp = p["passport"]
        return {
            "Series": pp["series"],
            "Number": pp["number"],
            "IssueDate": pp["issue_date"],
            "Issuer": pp["issuer"],
            "IssuerCode": pp["issuer_code"],
        }

    # -- the calls -----------------------------------------------------------------------------

    def applicant(self, p):
        r = self.call("snils", "VerifySnils", Snils=p["snils"], Person=self.identity(p))
        if r is not None:
            self.outcome("VerifySnils", r.Result.Code)
        r = self.call("inn", "FindInn", Person=self.identity(p), Passport=self.passport(p))
        if r is not None:
            found = r.Found is not None and r.Found.Inn == p["inn"]
            self.outcome("FindInn", "Found" if found else "other")
        r = self.call("inn", "VerifyInn", Inn=p["inn"], Person=self.identity(p))
        if r is not None:
            self.outcome("VerifyInn", r.Result.Code)
        r = self.call("labour", "GetFamilyStatus", Snils=p["snils"])
        if r is not None:
            self.outcome("GetFamilyStatus", "Statuses" if r.Statuses is not None else "other")
        r = self.call(
            "labour",
            "GetFamilyStatus",
            Person=self.identity(p),
            IdentityDocument={"Passport": self.passport(p)},
        )
        if r is not None:
            self.outcome("GetFamilyStatus", "Statuses" if r.Statuses is not None else "other")

    def child(self, c, people_by_snils):
        person = c["person"]
        cert = person["birth_certificate"]
        r = self.call("children", "FindBirthRecord", Certificate={"Series": cert["series"], "Number": cert["number"]})
        if r is not None:
            same = r.BirthRecord is not None and r.BirthRecord.Child.Snils == person["snils"]
            self.outcome("FindBirthRecord", "BirthRecord" if same else "other")
        r = self.call("labour", "GetActiveAssignments", ChildSnils=person["snils"])
        if r is not None:
            self.outcome("GetActiveAssignments", "Assignments" if r.Assignments is not None else "other")
        for a in c["assignments"]:
            contacts = {}
            recipient = people_by_snils.get(a["recipient_snils"])
            if recipient and recipient.get("phone"):
                contacts["Phone"] = [recipient["phone"]]
            if recipient and recipient.get("email"):
                contacts["Email"] = recipient["email"]
            period = {"From": a["period"]["from"]}
            if a["period"].get("to"):
                period["To"] = a["period"]["to"]
            kwargs = {
                "applicationNumber": a["application_number"],
                "BenefitCode": a["benefit_code"],
                "ChildSnils": a["child_snils"],
                "RecipientSnils": a["recipient_snils"],
                "Period": period,
                "RegionCode": a["region_code"],
                "DecisionDate": a["period"]["from"],
            }
            if a.get("amount"):
                kwargs["Amount"] = {"_value_1": a["amount"], "currency": "RUB"}
            if contacts:
                kwargs["RecipientContacts"] = contacts
            r = self.call("labour", "RegisterAssignment", **kwargs)
            if r is not None:
                code = r.Result.Code if r.Result is not None else "Error"
                self.outcome("RegisterAssignment", code)

    def strangers(self, people):
        """Keys the registries do not know: NotFound with checkedAt, NOT_FOUND verification codes."""
        adult = next(p for p in people if p["case"] == "valid")["applicant"]
        other = dict(adult, last_name=adult["last_name"] + "а")
        r = self.call("inn", "FindInn", Person=self.identity(other), Passport=self.passport(adult))
        if r is not None:
            self.found_not("FindInn", r.NotFound)
        unknown = next(p for p in people if p["case"] == "unknown_certificate")
        cert = unknown["children"][0]["person"]["birth_certificate"]
        r = self.call("children", "FindBirthRecord", Certificate={"Series": cert["series"], "Number": cert["number"]})
        if r is not None:
            self.found_not("FindBirthRecord", r.NotFound)
        wrong = next(p for p in people if p["case"] == "wrong_snils_check")["applicant"]
        r = self.call("labour", "GetFamilyStatus", Snils=wrong["snils"])
        if r is not None:
            self.found_not("GetFamilyStatus", r.NotFound)
        r = self.call("snils", "VerifySnils", Snils=wrong["snils"], Person=self.identity(wrong))
        if r is not None:
            self.outcome("VerifySnils", r.Result.Code)

    def faulty(self, people):
        """Faults, each read through zeep: its standard code and the registry's detail."""
        adult = next(p for p in people if p["case"] == "valid")["applicant"]
        # zeep does not check patterns: the registry does.
        self.expect_fault("schema_invalid", "snils", "VerifySnils", Snils="12345", Person=self.identity(adult))
        good = self.session.headers["Authorization"]
        self.session.headers["Authorization"] = "Bearer forged"
        self.expect_fault("token_unknown", "inn", "VerifyInn", Inn=adult["inn"], Person=self.identity(adult))
        self.session.headers["Authorization"] = good
        self.admin_faults("children", [{"kind": "server_fault", "times": 1}])
        cert = people[0]["children"][0]["person"]["birth_certificate"]
        self.expect_fault(
            "server_fault",
            "children",
            "FindBirthRecord",
            Certificate={"Series": cert["series"], "Number": cert["number"]},
        )
        self.admin_faults("labour", [{"kind": "expired_token", "times": 1}])
        self.expect_fault("expired_token", "labour", "GetFamilyStatus", Snils=adult["snils"])
        self.admin_faults("children", [])
        self.admin_faults("labour", [])

    def from_files(self, people):
        """One call through a WSDL loaded from disk, its service bound to the mock's address."""
        adult = next(p for p in people if p["case"] == "valid")["applicant"]
        client, url = self.file_clients["snils"]
        binding = next(iter(client.wsdl.bindings))
        service = client.create_service(binding, url)
        try:
            r = service.VerifySnils(Metadata=self.metadata(), Snils=adult["snils"], Person=self.identity(adult))
        except Exception as e:  # noqa: BLE001
            self.errors.append({"operation": "VerifySnils", "case": "from_file", "error": type(e).__name__, "message": mask(e)})
            return
        self.files["snils"]["answered"] = r.Result.Code

    def run(self):
        people = json.load(open(self.config["people"], encoding="utf-8"))["people"]
        self.token()
        self.from_files(people)
        by_snils = {p["applicant"]["snils"]: p["applicant"] for p in people}
        for p in people:
            if p["case"] in ("wrong_snils_check", "wrong_inn_check", "unknown_certificate"):
                continue
            self.applicant(p["applicant"])
            for c in p["children"]:
                if c.get("birth_record") is not None:
                    self.child(c, by_snils)
        self.strangers(people)
        self.faulty(people)
        return {
            "zeep": zeep.__version__,
            "wsdl": self.wsdl,
            "wsdl_files": self.files,
            "tokens": self.tokens,
            "sent": dict(self.sent.by_operation),
            "answered": dict(self.answered),
            "outcomes": {op: dict(c) for op, c in self.outcomes.items()},
            "not_found": self.not_found,
            "faults": self.faults,
            "errors": self.errors,
        }


def main():
    config = json.load(open(sys.argv[1], encoding="utf-8"))
    summary = Interop(config).run()
    print(json.dumps(summary, ensure_ascii=False, sort_keys=True))


if __name__ == "__main__":
    main()

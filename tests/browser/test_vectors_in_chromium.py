"""The shared known-answer vectors, checked by the browser module inside Chromium.

The Node tests check the same vectors; running them again here proves the module behaves the same
on the WebCrypto implementation submitters actually use.
"""

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"


def read_vectors(name: str) -> Any:
    return json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))


def test_module_loads_under_a_policy_that_blocks_inline_script(crypto_page: Any) -> None:
    """The page's policy allows only same-origin script files, and the module still loaded."""
    blocked_by = crypto_page.evaluate(
        """() => new Promise((resolve) => {
          document.addEventListener(
            'securitypolicyviolation', (event) => resolve(event.effectiveDirective), { once: true },
          );
          const script = document.createElement('script');
          script.textContent = 'window.inlineScriptRan = true';
          document.head.append(script);
          setTimeout(() => resolve(window.inlineScriptRan ? 'ran' : 'no report'), 5000);
        })"""
    )
    assert blocked_by == "script-src-elem"
    assert crypto_page.evaluate("() => typeof parley.sealEnvelope") == "function"


def test_rfc9180_vector(crypto_page: Any) -> None:
    vector = read_vectors("rfc9180-x25519-sha256-aes256gcm.json")
    result = crypto_page.evaluate(
        """async (v) => {
          const recipient = await parley.hpkeDeriveKeyPair(fromHex(v.ikmR));
          const ephemeral = await parley.hpkeDeriveKeyPair(fromHex(v.ikmE));
          const schedule = await parley.hpkeKeySchedule(fromHex(v.shared_secret), fromHex(v.info));
          const context = await parley.hpkeSetupBaseS(fromHex(v.pkRm), fromHex(v.info), {
            ephemeralPrivate: fromHex(v.skEm),
          });
          const ciphertexts = [];
          for (const e of v.encryptions) {
            ciphertexts.push(toHex(await context.seal(fromHex(e.aad), fromHex(e.pt))));
          }
          const [first] = v.encryptions;
          const opened = await parley.hpkeOpen(
            fromHex(v.skRm), fromHex(v.enc), fromHex(v.info), fromHex(first.aad), fromHex(first.ct),
          );
          return {
            skRm: toHex(recipient.privateKey), pkRm: toHex(recipient.publicKey),
            skEm: toHex(ephemeral.privateKey), pkEm: toHex(ephemeral.publicKey),
            key: toHex(schedule.key), base_nonce: toHex(schedule.baseNonce),
            enc: toHex(context.enc), shared_secret: toHex(context.sharedSecret),
            ciphertexts, opened: toHex(opened),
          };
        }""",
        vector,
    )
    for field in ("skRm", "pkRm", "skEm", "pkEm", "key", "base_nonce", "enc", "shared_secret"):
        assert result[field] == vector[field], field
    assert len(vector["encryptions"]) == 257
    assert result["ciphertexts"] == [encryption["ct"] for encryption in vector["encryptions"]]
    assert result["opened"] == vector["encryptions"][0]["pt"]


def test_envelope_vectors(crypto_page: Any) -> None:
    vectors = read_vectors("envelope-v1.json")
    result = crypto_page.evaluate(
        """async (vectors) => {
          const outcome = { opened: 0, rejected: 0, problems: [] };
          for (const c of vectors.cases) {
            for (const key of c.recipient_private_keys) {
              const envelope = fromHex(c.envelope);
              const plaintext = await parley.openEnvelope(envelope, fromHex(key), c.context);
              if (toHex(plaintext) === c.plaintext) outcome.opened += 1;
              else outcome.problems.push(`wrong plaintext: ${c.description}`);
            }
          }
          for (const t of vectors.tamper) {
            try {
              await parley.openEnvelope(fromHex(t.envelope), fromHex(t.private_key), t.context);
              outcome.problems.push(`opened: ${t.description}`);
            } catch (error) {
              if (error instanceof parley.DecryptionError) outcome.rejected += 1;
              else outcome.problems.push(`${error.name} for: ${t.description}`);
            }
          }
          return outcome;
        }""",
        vectors,
    )
    assert result["problems"] == []
    expected_openings = sum(len(case["recipient_private_keys"]) for case in vectors["cases"])
    assert result["opened"] == expected_openings > 0
    assert result["rejected"] == len(vectors["tamper"]) > 0


def test_stream_vectors(crypto_page: Any) -> None:
    vectors = read_vectors("stream-v1.json")
    results = crypto_page.evaluate(
        """async (cases) => {
          const results = [];
          for (const c of cases) {
            const plaintext = c.plaintext === undefined
              ? Uint8Array.from({ length: c.plaintext_pattern.length }, (_, i) => i % 251)
              : fromHex(c.plaintext);
            const key = fromHex(c.key);
            const options = { noncePrefix: fromHex(c.nonce_prefix) };
            const ciphertext = await parley.encryptBlob(new Blob([plaintext]), key, options);
            const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', ciphertext));
            const decrypted = await parley.decryptStream(ciphertext, key);
            results.push({
              sha256: toHex(digest),
              ciphertext: ciphertext.length < 2048 ? toHex(ciphertext) : null,
              roundTrip: toHex(decrypted) === toHex(plaintext),
            });
          }
          return results;
        }""",
        vectors["cases"],
    )
    assert len(results) == len(vectors["cases"]) > 0
    for case, result in zip(vectors["cases"], results, strict=True):
        assert result["sha256"] == case["ciphertext_sha256"], case["description"]
        assert result["ciphertext"] == case.get("ciphertext"), case["description"]
        assert result["roundTrip"], case["description"]


def test_codename_vectors(crypto_page: Any) -> None:
    vectors = read_vectors("codename-v1.json")
    results = crypto_page.evaluate(
        """async (cases) => {
          const results = [];
          for (const c of cases) {
            const secrets = await parley.deriveCodenameSecrets(c.codename);
            results.push({
              canonical: parley.normaliseCodename(c.codename),
              login_secret: toHex(secrets.loginSecret),
              key_seed: toHex(secrets.keySeed),
              public_key: toHex(secrets.publicKey),
            });
          }
          return results;
        }""",
        vectors["cases"],
    )
    assert len(results) == len(vectors["cases"]) > 0
    for case, result in zip(vectors["cases"], results, strict=True):
        for field in ("canonical", "login_secret", "key_seed", "public_key"):
            assert result[field] == case[field], (case["description"], field)


def test_proof_of_work_vectors(crypto_page: Any) -> None:
    """Chromium's WebCrypto finds the smallest nonce of every case, as Python and Node do."""
    vectors = read_vectors("proof-of-work-v1.json")
    nonces = crypto_page.evaluate(
        """async (cases) => {
          const nonces = [];
          for (const c of cases) {
            const token = btoa(String.fromCharCode(...fromHex(c.challenge)))
              .replaceAll('+', '-').replaceAll('/', '_');
            nonces.push(await parley.solveChallenge(token, fromHex(c.bound), c.difficulty));
          }
          return nonces;
        }""",
        vectors["cases"],
    )
    assert nonces == [case["nonce"] for case in vectors["cases"]]


def test_rfc8032_vectors(crypto_page: Any) -> None:
    vectors = read_vectors("rfc8032-ed25519.json")
    results = crypto_page.evaluate(
        """async (cases) => {
          const results = [];
          for (const c of cases) {
            const publicKey = toHex(await parley.signingPublicKey(fromHex(c.seed)));
            let verified = true;
            try {
              await parley.ed25519Verify(
                fromHex(c.public_key), fromHex(c.message), fromHex(c.signature),
              );
            } catch (error) {
              verified = error.name;
            }
            results.push({ publicKey, verified });
          }
          return results;
        }""",
        vectors["cases"],
    )
    assert len(results) == len(vectors["cases"]) == 4
    for case, result in zip(vectors["cases"], results, strict=True):
        assert result == {"publicKey": case["public_key"], "verified": True}


def test_provenance_vectors(crypto_page: Any) -> None:
    vectors = read_vectors("provenance-v1.json")
    result = crypto_page.evaluate(
        """async (v) => {
          const problems = [];
          const check = (actual, expected, what) => {
            if (actual !== expected) problems.push(what);
          };
          for (const k of v.signing_keys) {
            const publicKey = await parley.signingPublicKey(fromHex(k.seed));
            check(toHex(publicKey), k.public_key, `public key ${k.seed}`);
            check(toHex(await parley.signingKeyId(publicKey)), k.key_id, `key id ${k.seed}`);
            const shown = await parley.signingFingerprint(publicKey);
            check(shown, k.fingerprint, `fingerprint ${k.seed}`);
          }
          for (const i of v.signed_items) {
            const envelope = fromHex(i.envelope);
            const signature = await parley.signItem(fromHex(i.seed), i.context, envelope);
            check(toHex(signature), i.signature, `signature: ${i.description}`);
            await parley.verifyItem(fromHex(i.public_key), i.context, envelope, signature);
          }
          let rejected = 0;
          for (const i of v.rejected_items) {
            try {
              await parley.verifyItem(
                fromHex(i.public_key), i.context, fromHex(i.envelope), fromHex(i.signature),
              );
              problems.push(`verified: ${i.description}`);
            } catch (error) {
              if (error instanceof parley.DecryptionError) rejected += 1;
              else problems.push(`${error.name} for: ${i.description}`);
            }
          }
          const s = v.submitter;
          const { keySeed } = await parley.deriveCodenameSecrets(s.codename);
          check(toHex(keySeed), s.key_seed, 'key seed');
          for (const e of s.submissions) {
            const keys = await parley.deriveSubmissionKeys(keySeed, e.public_id);
            check(toHex(keys.privateKey), e.key_seed, `key seed ${e.public_id}`);
            check(toHex(keys.publicKey), e.public_key, `public key ${e.public_id}`);
            check(toHex(keys.signingSeed), e.signing_seed, `signing seed ${e.public_id}`);
            check(toHex(keys.signingPublicKey), e.signing_public_key, `signing key ${e.public_id}`);
          }
          const tagKey = await parley.ownerTagKey(keySeed);
          check(toHex(tagKey), s.owner_tag_key, 'owner tag key');
          for (const t of s.owner_tags) {
            check(toHex(await parley.ownerTag(tagKey, t.index)), t.tag, `owner tag ${t.index}`);
          }
          const seedFor = {
            desk: parley.deskSigningSeed, staff: parley.staffSigningSeed,
            recovery: parley.recoverySigningSeed,
          };
          for (const h of v.holder_signing_keys) {
            const seed = await seedFor[h.role](fromHex(h.private_key));
            check(toHex(seed), h.signing_seed, `${h.role} signing seed`);
            check(toHex(await parley.signingPublicKey(seed)), h.signing_public_key, h.role);
          }
          const certificate = (c) => ({
            generation: c.generation, deskPublicKey: fromHex(c.desk_public_key),
            signingPublicKey: fromHex(c.signing_public_key), signature: fromHex(c.signature),
          });
          const chains = v.desk_key_chains;
          const trusted = fromHex(chains.trusted_signing_key);
          let valid = 0;
          for (const chain of chains.valid) {
            const certificates = chain.certificates.map(certificate);
            const newest = await parley.verifyDeskKeyChain(trusted, chains.slug, certificates);
            if (newest === certificates.at(-1)) valid += 1;
          }
          let broken = 0;
          for (const chain of chains.broken) {
            try {
              const certificates = chain.certificates.map(certificate);
              await parley.verifyDeskKeyChain(trusted, chain.slug, certificates);
              problems.push(`accepted: ${chain.description}`);
            } catch (error) {
              if (error instanceof parley.DecryptionError) broken += 1;
              else problems.push(`${error.name} for: ${chain.description}`);
            }
          }
          return { problems, rejected, valid, broken };
        }""",
        vectors,
    )
    assert result["problems"] == []
    assert result["rejected"] == len(vectors["rejected_items"]) > 0
    assert result["valid"] == len(vectors["desk_key_chains"]["valid"]) > 0
    assert result["broken"] == len(vectors["desk_key_chains"]["broken"]) > 0


def test_attachment_padding_vectors(crypto_page: Any) -> None:
    vectors = read_vectors("attachment-padding-v1.json")
    results = crypto_page.evaluate(
        """async ([sizes, cases]) => {
          const padded = sizes.map(([size]) => parley.paddedFileSize(size));
          const digests = [];
          for (const c of cases) {
            const plaintext = new Uint8Array(parley.paddedFileSize(c.size));
            plaintext.set(Uint8Array.from({ length: c.size }, (_, i) => i % 251));
            const options = { noncePrefix: fromHex(c.nonce_prefix) };
            const ciphertext = await parley.encryptBlob(plaintext, fromHex(c.key), options);
            digests.push(toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', ciphertext))));
          }
          return { padded, digests };
        }""",
        [vectors["padded_sizes"], vectors["cases"]],
    )
    assert results["padded"] == [padded for _, padded in vectors["padded_sizes"]]
    assert results["digests"] == [case["ciphertext_sha256"] for case in vectors["cases"]]


def test_identities_vectors(crypto_page: Any) -> None:
    """The persons' names split and put back in Chromium as on the server and in Node."""
    vectors = read_vectors("identities-v1.json")
    result = crypto_page.evaluate(
        """async (v) => {
          const { splitIdentities, mergeIdentities } = await import('/static/js/identities.mjs');
          return {
            split: v.cases.map((c) => splitIdentities(c.payload, v.declarations[c.kind])),
            merged: v.merge_cases.map(
              (c) => mergeIdentities(c.payload, c.identities, v.declarations[c.kind]),
            ),
          };
        }""",
        vectors,
    )
    assert result["split"] == [
        {"payload": case["sealed_payload"], "identities": case["identities"]}
        for case in vectors["cases"]
    ]
    assert result["merged"] == [case["merged"] for case in vectors["merge_cases"]]


def test_signed_items_vectors(crypto_page: Any) -> None:
    """The inbox tab's rule (signed-items.mjs) over the same file as Python and Node."""
    vectors = read_vectors("signed-items-v1.json")
    result = crypto_page.evaluate(
        """async (v) => {
          const rule = await import('/static/js/signed-items.mjs');
          const envelope = fromHex(v.envelope);
          const stored = (context, signature) => ({
            context, envelope, signature: signature === null ? null : fromHex(signature),
          });
          const { keySeed } = await parley.deriveCodenameSecrets(v.codename);
          const keys = await parley.deriveSubmissionKeys(keySeed, v.public_id);
          const s = v.submission;
          const signature = toHex(await parley.signItem(keys.signingSeed, s.context, envelope));
          const anchors = await rule.submissionAnchors(
            s.payload, stored(s.context, s.signature), keys.signingPublicKey, parley.verifyItem,
          );
          let refused = 0;
          for (const r of v.refused_submissions) {
            try {
              await rule.submissionAnchors(
                r.payload, stored(s.context, r.signature), keys.signingPublicKey, parley.verifyItem,
              );
            } catch (error) {
              if (error instanceof rule.UnverifiedSubmissionError) refused += 1;
            }
          }
          const answers = [];
          const unsigned = { submission: null, desk: null };
          const cases = [
            ...v.signed_submission_items.map((item) => [anchors, item]),
            ...v.before_signatures_items.map((item) => [unsigned, item]),
          ];
          for (const [anchored, item] of cases) {
            const key = item.side === 'desk' ? anchored.desk : anchored.submission;
            answers.push(await rule.itemProvenance(
              anchored, key, stored(item.context, item.signature), parley.verifyItem,
            ));
          }
          const chains = [];
          for (const c of v.anchored_desk_key_chains.cases) {
            const certificates = c.certificates.map((item) => ({
              generation: item.generation, deskPublicKey: fromHex(item.desk_public_key),
              signingPublicKey: fromHex(item.signing_public_key),
              signature: fromHex(item.signature),
            }));
            try {
              await parley.verifyDeskKeyChainFrom(
                fromHex(c.anchor_signing_key), c.anchor_generation,
                v.anchored_desk_key_chains.slug, certificates,
                c.recovery_signing_key === null ? null : fromHex(c.recovery_signing_key),
              );
              chains.push(true);
            } catch (error) {
              chains.push(error instanceof parley.DecryptionError ? false : error.name);
            }
          }
          const levels = ['internal_only', 'raise_without_name', 'raise_by_name', 'handover_list'];
          const counts = v.consent_rule.map((c) => rule.changeCounts(
            c.provenance, { level: c.current }, { level: c.proposed }, levels,
          ));
          return {
            signature, refused, answers, counts, chains,
            anchors: [toHex(anchors.submission), toHex(anchors.desk), toHex(anchors.recovery)],
          };
        }""",
        vectors,
    )
    submission = vectors["submission"]
    assert result["signature"] == submission["signature"]
    expected = submission["anchors"]
    assert result["anchors"] == [expected["submission"], expected["desk"], expected["recovery"]]
    assert result["refused"] == len(vectors["refused_submissions"]) == 5
    items = vectors["signed_submission_items"] + vectors["before_signatures_items"]
    assert result["answers"] == [item["expected"] for item in items]
    assert result["counts"] == [rule["counts"] for rule in vectors["consent_rule"]]
    chains = vectors["anchored_desk_key_chains"]["cases"]
    assert result["chains"] == [case["valid"] for case in chains]

/**
 * Who a submission names, split from what it says: the browser's half of
 * `portal/services/submissions/identities.py`, rule for rule.
 *
 * The fields a kind's declaration marks `identifying` (a person's name) leave the submission
 * payload and go into the identities plaintext, `{format: 'parley-identities-v1', <list>:
 * [{<field>: value}, ...]}`, which the form seals apart to the dialogue's identity key and the
 * submission's own key; the inbox puts them back for the submitter who sent them
 * (`mergeIdentities`). docs/FORMATS.md, "Identity compartment", specifies the format.
 */

export const IDENTITIES_FORMAT = 'parley-identities-v1';

/** Each list of the declaration with identifying fields, and those fields' names. */
function identifyingLists(declaration) {
  return [...declaration.common, ...declaration.fields]
    .filter((field) => field.type === 'list')
    .map((list) => [list.name, list.fields.filter((inner) => inner.identifying).map((inner) => inner.name)])
    .filter(([, names]) => names.length > 0);
}

/** The payload without identifying fields, and the identities plaintext holding them. */
export function splitIdentities(payload, declaration) {
  const remaining = structuredClone(payload);
  const identities = { format: IDENTITIES_FORMAT };
  for (const [listName, names] of identifyingLists(declaration)) {
    identities[listName] = (remaining[listName] ?? []).map((item) =>
      Object.fromEntries(
        names.map((name) => {
          const value = item[name] ?? '';
          delete item[name];
          return [name, value];
        }),
      ),
    );
  }
  return { payload: remaining, identities };
}

/** `payload` with the identities' text fields put back, item by item (never elsewhere). */
export function mergeIdentities(payload, identities, declaration) {
  const merged = structuredClone(payload);
  if (identities?.format !== IDENTITIES_FORMAT) return merged;
  for (const [listName, names] of identifyingLists(declaration)) {
    const sent = identities[listName];
    const items = merged[listName];
    if (!Array.isArray(sent) || !Array.isArray(items)) continue;
    items.slice(0, sent.length).forEach((item, index) => {
      for (const name of names) {
        if (typeof sent[index]?.[name] === 'string') item[name] = sent[index][name];
      }
    });
  }
  return merged;
}

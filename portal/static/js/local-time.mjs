// The reader's own time beside the UTC and Brussels times the server writes.
//
// The server cannot know a reader's time zone without asking for it, and it does not ask. Where
// JavaScript runs, the browser knows: this module adds, after each `<time datetime>` that carries
// a translated `data-local-label` (with "%(time)s" where the time goes), the same moment in the
// browser's time zone. Only text is inserted, never markup, and no style is set inline.

const PLACEHOLDER = '%(time)s';

/** The calendar day of `moment` in `timeZone`, as year-month-day digits. */
function dayIn(moment, timeZone) {
  return new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit', timeZone }).format(moment);
}

/**
 * `isoMoment` in the reader's zone and language, with the zone's short name: the time alone when
 * it falls on the UTC date the page already wrote, the date too when the day is another one.
 */
export function formatLocal(isoMoment, locale, timeZone) {
  const moment = new Date(isoMoment);
  if (Number.isNaN(moment.getTime())) {
    return null;
  }
  const sameDay = dayIn(moment, timeZone) === dayIn(moment, 'UTC');
  const date = sameDay ? {} : { year: 'numeric', month: 'short', day: 'numeric' };
  return new Intl.DateTimeFormat(locale || undefined, {
    ...date,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
    timeZone,
  }).format(moment);
}

/** Adds the local time to every labelled `<time>` in `doc`; returns how many it enhanced. */
export function showLocalTimes(doc, timeZone) {
  let enhanced = 0;
  for (const element of doc.querySelectorAll('time[datetime][data-local-label]')) {
    const local = formatLocal(element.getAttribute('datetime'), doc.documentElement.lang, timeZone);
    if (local === null) {
      continue;
    }
    const note = doc.createElement('span');
    note.className = 'local-zone';
    note.textContent = ` (${element.dataset.localLabel.replace(PLACEHOLDER, local)})`;
    element.parentElement.append(note);
    enhanced += 1;
  }
  return enhanced;
}

if (typeof document !== 'undefined') {
  showLocalTimes(document, undefined);
}

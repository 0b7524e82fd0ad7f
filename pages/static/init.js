// A file, not an inline script: the pages' Content-Security-Policy allows scripts from
// this server only.
import { initAll } from '/pages/govuk/govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()

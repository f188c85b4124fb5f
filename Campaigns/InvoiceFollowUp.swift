import NurtureDSL

/// Invoices are part of the experience: clear terms up front, a thank-you, and polite reminders
/// at growing intervals that stop the moment the invoice is paid.
let invoiceFollowUp = Campaign(
    "invoice-follow-up", kind: .custom("invoice"), name: "Invoice follow-up", reentry: .always, transactional: true,
    window: .businessHours
) {
    Entry(on: "invoice.issued", capturing: ["invoice_number", "amount", "due_date", "description", "payment_url"])
    Exit(on: "invoice.paid", sameAs: ["invoice_number"])

    Email("invoice-issued", window: .anytime)
    Wait(.days(12))
    Email("invoice-reminder-1")                            // two days before the due date
    Wait(.days(3))
    Email("invoice-reminder-2")                            // just past due
    Wait(.days(7))
    Email("invoice-reminder-3")                            // a week late: can we help?
    Wait(.days(14))
    Email("invoice-reminder-4")
    NotifySales("Invoice is three weeks overdue: a personal call from the account owner")
}

/// Builds the steps inside `If`, `WaitFor` and other blocks. Swift `if` and `for` run when the
/// campaign is built; what a lead does at run time is an `If(...)` step.
@resultBuilder
public enum StepBuilder {
    public static func buildExpression(_ component: some StepConvertible) -> [Step] { component.makeSteps() }
    public static func buildExpression(_ steps: [Step]) -> [Step] { steps }
    public static func buildBlock(_ parts: [Step]...) -> [Step] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [Step]?) -> [Step] { part ?? [] }
    public static func buildEither(first part: [Step]) -> [Step] { part }
    public static func buildEither(second part: [Step]) -> [Step] { part }
    public static func buildArray(_ parts: [[Step]]) -> [Step] { parts.flatMap { $0 } }
    public static func buildLimitedAvailability(_ part: [Step]) -> [Step] { part }
}

/// One line of a campaign body: an entry trigger, an exit goal, or a step.
public enum CampaignPart: Sendable {
    case entry(Entry)
    case exit(Exit)
    case conversion(Conversion)
    case step(Step)
}

@resultBuilder
public enum CampaignBuilder {
    public static func buildExpression(_ entry: Entry) -> [CampaignPart] { [.entry(entry)] }
    public static func buildExpression(_ exit: Exit) -> [CampaignPart] { [.exit(exit)] }
    public static func buildExpression(_ conversion: Conversion) -> [CampaignPart] { [.conversion(conversion)] }
    public static func buildExpression(_ component: some StepConvertible) -> [CampaignPart] {
        component.makeSteps().map(CampaignPart.step)
    }
    public static func buildBlock(_ parts: [CampaignPart]...) -> [CampaignPart] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [CampaignPart]?) -> [CampaignPart] { part ?? [] }
    public static func buildEither(first part: [CampaignPart]) -> [CampaignPart] { part }
    public static func buildEither(second part: [CampaignPart]) -> [CampaignPart] { part }
    public static func buildArray(_ parts: [[CampaignPart]]) -> [CampaignPart] { parts.flatMap { $0 } }
    public static func buildLimitedAvailability(_ part: [CampaignPart]) -> [CampaignPart] { part }
}

@resultBuilder
public enum CampaignListBuilder {
    public static func buildExpression(_ campaign: Campaign) -> [Campaign] { [campaign] }
    public static func buildBlock(_ parts: [Campaign]...) -> [Campaign] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [Campaign]?) -> [Campaign] { part ?? [] }
    public static func buildEither(first part: [Campaign]) -> [Campaign] { part }
    public static func buildEither(second part: [Campaign]) -> [Campaign] { part }
    public static func buildArray(_ parts: [[Campaign]]) -> [Campaign] { parts.flatMap { $0 } }
}

@resultBuilder
public enum AttributeBuilder {
    public static func buildExpression(_ attribute: Attribute) -> [Attribute] { [attribute] }
    public static func buildBlock(_ parts: [Attribute]...) -> [Attribute] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [Attribute]?) -> [Attribute] { part ?? [] }
    public static func buildArray(_ parts: [[Attribute]]) -> [Attribute] { parts.flatMap { $0 } }
}

import FocusEngine
import FocusHashing
import FocusQueue
import Foundation

extension EngineJobProcessor {
    /// The job's document text, checked against the digest recorded at submission. The text is
    /// the one stored in the database at submission: the submitter's path is never opened, except
    /// for a document registered before texts were stored (and not submitted since), which is read
    /// from its path as it was then.
    func document(of job: ClaimedJob) throws -> String {
        if let text = job.documentText {
            guard SHA256.hexDigest(Data(text.utf8)) == job.documentSHA256 else {
                throw BadJobInput(description: "document \(job.documentID) (\(job.documentPath)): the stored text does not match its SHA-256")
            }
            return text
        }
        guard let data = FileManager.default.contents(atPath: job.documentPath) else {
            throw BadJobInput(description: "\(job.documentPath): document no longer readable")
        }
        guard SHA256.hexDigest(data) == job.documentSHA256 else {
            throw BadJobInput(description: "\(job.documentPath): document changed since it was submitted")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw BadJobInput(description: "\(job.documentPath): document is not valid UTF-8")
        }
        return text
    }

    /// What the queue records for an answered job; a stored-mode answer also tells which store
    /// entry now holds the job's document.
    func outcome(_ answer: QAAnswer, job: ClaimedJob, settings: JobSettings) -> JobOutcome {
        if let prefill = answer.prefill {
            holdings.used(documentID: job.documentID, key: prefill.key, storeHit: prefill.storeHit)
        }
        return JobOutcome(
            answer: answer.text, answerTokenIDs: answer.tokens.map(Int.init),
            metrics: metrics(of: answer, job: job, settings: settings))
    }

    private func metrics(of answer: QAAnswer, job: ClaimedJob, settings: JobSettings) -> JobMetrics {
        let d = answer.decoding
        var m = JobMetrics()
        m.queueWaitSeconds = max(0, job.startedAt - job.createdAt)
        m.prefillSeconds = d.prefillSeconds
        m.storeHit = answer.prefill?.storeHit
        m.kvLoadSeconds = answer.prefill == nil ? nil : d.kvLoadSeconds
        m.kvLoadBytes = answer.prefill == nil ? nil : d.kvBytesRead
        m.decodeSeconds = d.decodeSeconds
        m.answerTokens = answer.tokens.count
        m.tokensPerSecond = answer.totalSeconds > 0 ? Double(answer.tokens.count) / answer.totalSeconds : nil
        m.nfe = d.forwardPasses
        m.steps = d.steps
        m.blocksSelected = d.blocksTotal > 0 ? d.blocksSelected : nil
        m.blocksTotal = d.blocksTotal > 0 ? d.blocksTotal : nil
        m.attentionDensity = d.attentionDensity
        m.peakRSSBytes = answer.peakResidentBytes
        m.model = URL(fileURLWithPath: job.modelDir).lastPathComponent
        m.mode = answer.mode.rawValue
        m.modeParams = settings.canonicalJSON
        return m
    }
}

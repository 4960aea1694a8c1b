namespace SrsProxy.Bench.Pacing;

/// <summary>The players' upstream feedback, one datagram at a time (slot = the player's index), on the fleet's pacing thread.</summary>
internal interface IFeedbackSchedule
{
    PlannedSend Next();
}
